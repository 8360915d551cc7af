package config

import (
	"strings"
	"testing"
)

func TestHL7ACKKeysAreReadForEveryConnectorType(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		keys    map[string]string
		want    HL7ACKSettings
		wantErr string
	}{
		{"by default positive answers carry no ERR and error answers 5", TypeHL7MLLP, nil, HL7ACKSettings{MaxErrors: 5}, ""},
		{"warnings can be turned on with a cap", TypeHL7MLLP,
			map[string]string{"hl7.ack.warnings.enabled": "true", "hl7.ack.max.err.segments": "10"}, HL7ACKSettings{Warnings: true, MaxErrors: 10}, ""},
		{"fhir-rest answers POST /v1/hl7 and takes the keys", TypeFHIRREST,
			map[string]string{"hl7.ack.max.err.segments": "1"}, HL7ACKSettings{MaxErrors: 1}, ""},
		{"grpc answers SubmitHL7 and takes the keys", TypeGRPC,
			map[string]string{"hl7.ack.warnings.enabled": "true"}, HL7ACKSettings{Warnings: true, MaxErrors: 5}, ""},
		{"no ERR at all is not a cap", TypeHL7MLLP, map[string]string{"hl7.ack.max.err.segments": "0"}, HL7ACKSettings{}, "config.hl7.ack.max.err.segments"},
		{"more than 50 is refused", TypeHL7MLLP, map[string]string{"hl7.ack.max.err.segments": "51"}, HL7ACKSettings{}, "config.hl7.ack.max.err.segments"},
		{"the switch must be a boolean", TypeHL7MLLP, map[string]string{"hl7.ack.warnings.enabled": "yes please"}, HL7ACKSettings{}, "config.hl7.ack.warnings.enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			s, err := Connector{Name: "c", Type: tt.typ, Config: tt.keys}.Settings(c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.HL7ACK != tt.want {
				t.Fatalf("HL7ACK = %+v, want %+v", s.HL7ACK, tt.want)
			}
		})
	}
}
