package config

import (
	"slices"
	"strings"
	"testing"
)

func TestHL7FHIRConversionKeys(t *testing.T) {
	tests := []struct {
		name      string
		typ       string
		keys      map[string]string
		wantTypes []string
		wantZone  string
		wantDLQ   string
		wantErr   string
	}{
		{"conversion is off by default and an hl7-mllp connector has no FHIR dead-letter topic", TypeHL7MLLP, nil, nil, "UTC", "", ""},
		{"a comma list turns it on for those types, sorted, with the FHIR dead-letter topic", TypeHL7MLLP,
			map[string]string{"hl7.fhir.convert": "ORU^R01, ADT^A01"}, []string{"ADT^A01", "ORU^R01"}, "UTC", "fhir.dlq", ""},
		{"the stored form of a YAML list reads the same, duplicates once", TypeHL7MLLP,
			map[string]string{"hl7.fhir.convert": "ADT^A08;ADT^A08;VXU^V04;"}, []string{"ADT^A08", "VXU^V04"}, "UTC", "fhir.dlq", ""},
		{"the FHIR dead-letter topic carries the prefix and can be named", TypeHL7MLLP,
			map[string]string{"hl7.fhir.convert": "ADT^A01", "topic.prefix": "p.", "errors.deadletterqueue.fhir.topic.name": "conv.dlq"},
			[]string{"ADT^A01"}, "UTC", "p.conv.dlq", ""},
		{"a time zone for HL7 times without an offset", TypeHL7MLLP,
			map[string]string{"hl7.fhir.convert": "ADT^A01", "hl7.fhir.convert.zone": "Europe/Berlin"}, []string{"ADT^A01"}, "Europe/Berlin", "fhir.dlq", ""},
		{"grpc keeps its FHIR dead-letter topic", TypeGRPC,
			map[string]string{"hl7.fhir.convert": "ORM^O01"}, []string{"ORM^O01"}, "UTC", "fhir.dlq", ""},
		{"fhir-rest converts POST /v1/hl7 into its own FHIR dead-letter topic", TypeFHIRREST,
			map[string]string{"hl7.fhir.convert": "ADT^A04", "errors.deadletterqueue.topic.name": "rest.dlq"}, []string{"ADT^A04"}, "UTC", "rest.dlq", ""},
		{"a type the converter does not convert is refused, closed", TypeHL7MLLP,
			map[string]string{"hl7.fhir.convert": "ADT^A01,SIU^S12"}, nil, "", "", `"SIU^S12" is not a message type converted to FHIR`},
		{"a message structure is not a type", TypeHL7MLLP,
			map[string]string{"hl7.fhir.convert": "ADT^A01^ADT_A01"}, nil, "", "", "config.hl7.fhir.convert"},
		{"lower case is not HL7", TypeHL7MLLP, map[string]string{"hl7.fhir.convert": "adt^a01"}, nil, "", "", "config.hl7.fhir.convert"},
		{"an empty list is refused rather than read as off", TypeHL7MLLP, map[string]string{"hl7.fhir.convert": " , "}, nil, "", "", "no message type"},
		{"an unknown zone is refused", TypeHL7MLLP,
			map[string]string{"hl7.fhir.convert": "ADT^A01", "hl7.fhir.convert.zone": "Mars/Olympus"}, nil, "", "", "config.hl7.fhir.convert.zone"},
		{"the machine's local zone is not a zone", TypeHL7MLLP,
			map[string]string{"hl7.fhir.convert": "ADT^A01", "hl7.fhir.convert.zone": "Local"}, nil, "", "", "config.hl7.fhir.convert.zone"},
		{"an hl7-mllp FHIR dead-letter topic without conversion is a mistake", TypeHL7MLLP,
			map[string]string{"errors.deadletterqueue.fhir.topic.name": "x"}, nil, "", "", "needs hl7.fhir.convert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Connector{Name: "c", Type: tt.typ, Config: tt.keys}.Settings(Default())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.HL7FHIR.Types, tt.wantTypes) {
				t.Errorf("Types = %q, want %q", s.HL7FHIR.Types, tt.wantTypes)
			}
			if s.HL7FHIR.Enabled() != (len(tt.wantTypes) > 0) {
				t.Errorf("Enabled = %v", s.HL7FHIR.Enabled())
			}
			for _, typ := range tt.wantTypes {
				if !s.HL7FHIR.Converts(typ) {
					t.Errorf("Converts(%s) = false", typ)
				}
			}
			if s.HL7FHIR.Converts("ADT^A02") != slices.Contains(tt.wantTypes, "ADT^A02") {
				t.Errorf("Converts(ADT^A02) = %v for %q", s.HL7FHIR.Converts("ADT^A02"), tt.wantTypes)
			}
			if got := s.HL7FHIR.Zone.String(); got != tt.wantZone { // a nil zone is UTC
				t.Errorf("Zone = %s, want %s", got, tt.wantZone)
			}
			if s.FHIRDLQTopic != tt.wantDLQ {
				t.Errorf("FHIRDLQTopic = %q, want %q", s.FHIRDLQTopic, tt.wantDLQ)
			}
		})
	}
}

func TestHL7FHIRConversionTypesCanBeAYAMLList(t *testing.T) {
	cfg, err := Parse([]byte(`
connectors:
  - name: adt
    type: hl7-mllp
    config:
      hl7.fhir.convert: [ADT^A01, ADT^A08]
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, err := cfg.Connectors[0].Settings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ADT^A01", "ADT^A08"}; !slices.Equal(s.HL7FHIR.Types, want) {
		t.Fatalf("Types = %q, want %q", s.HL7FHIR.Types, want)
	}
}

func TestAnUnconvertibleTypeFailsTheLoad(t *testing.T) {
	cfg, err := Parse([]byte(`
connectors:
  - name: adt
    type: hl7-mllp
    config:
      hl7.fhir.convert: [ADT^A01, ADT^Z99]
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "ADT^Z99") {
		t.Fatalf("err = %v, want the load to fail naming ADT^Z99", err)
	}
}
