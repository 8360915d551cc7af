package v2fhir

import (
	"errors"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/validation"
)

// TestOperationTable states what each golden message does to the
// resources it names: the topic suffix of each record.
func TestOperationTable(t *testing.T) {
	want := map[string]map[string]Op{
		"ADT^A01": {"Patient": Created, "Encounter": Created},
		"ADT^A02": {"Patient": Updated, "Encounter": Updated},
		"ADT^A03": {"Patient": Updated, "Encounter": Updated},
		"ADT^A04": {"Patient": Created, "Encounter": Created},
		"ADT^A05": {"Patient": Created, "Encounter": Created},
		"ADT^A06": {"Patient": Updated, "Encounter": Updated, "AllergyIntolerance": Updated, "Condition": Updated, "Coverage": Updated},
		"ADT^A07": {"Patient": Updated, "Encounter": Updated},
		"ADT^A08": {"Patient": Updated},
		"ADT^A11": {"Patient": Updated, "Encounter": Updated},
		"ADT^A13": {"Patient": Updated, "Encounter": Updated},
		"ADT^A28": {"Patient": Created, "Encounter": Updated, "AllergyIntolerance": Created, "Condition": Created, "Coverage": Created},
		"ADT^A31": {"Patient": Updated, "Encounter": Updated, "AllergyIntolerance": Updated},
		"ADT^A40": {"Patient": Updated},
		"ORU^R01": {"Patient": Updated, "DiagnosticReport": Created, "ServiceRequest": Updated, "Specimen": Updated},
		"VXU^V04": {"Patient": Updated, "Encounter": Updated, "Immunization": Created},
		"ORM^O01": {"Patient": Updated, "ServiceRequest": Created},
		"OML^O21": {"Patient": Updated, "ServiceRequest": Created, "Specimen": Updated},
	}
	for _, tc := range goldenCases {
		t.Run(tc.event+" from "+tc.file, func(t *testing.T) {
			res := convertFile(t, corpusFile(tc.file))
			for _, e := range res.Entries {
				switch e.Type {
				case "Practitioner", "Location", "Organization":
					if e.Op != Updated {
						t.Errorf("%s %s, want updated (reference data)", e.Type, e.Op)
					}
					continue
				case "Provenance":
					if e.Op != Created {
						t.Errorf("Provenance %s, want created", e.Op)
					}
					continue
				}
				if op, ok := want[tc.event][e.Type]; ok && e.Op != op {
					t.Errorf("%s %s, want %s", e.Type, e.Op, op)
				}
			}
		})
	}
}

// TestEncounterStatusByEvent: A03 finishes the visit, A11 cancels the
// admission (entered-in-error), A13 cancels the discharge (back to
// in-progress), A05 plans it; other events read PV1 (PV1-45 valued:
// finished; PV1-2 "P": planned; else in-progress).
func TestEncounterStatusByEvent(t *testing.T) {
	for _, tc := range []struct {
		event, pv1, want string
	}{
		{"A01", "PV1|1|I|W^1^2||||||||||||||||V1", "in-progress"},
		{"A01", "PV1|1|P|W^1^2||||||||||||||||V1", "planned"},
		{"A08", "PV1|1|I|W^1^2||||||||||||||||V1||||||||||||||||||||||||||20240101", "finished"},
		{"A03", "PV1|1|I|W^1^2||||||||||||||||V1", "finished"},
		{"A05", "PV1|1|I|W^1^2||||||||||||||||V1", "planned"},
		{"A11", "PV1|1|I|W^1^2||||||||||||||||V1", "entered-in-error"},
		{"A13", "PV1|1|I|W^1^2||||||||||||||||V1||||||||||||||||||||||||||20240101", "in-progress"},
	} {
		t.Run(tc.event+" "+tc.want, func(t *testing.T) {
			res := mustConvert(t, msgOf("MSH|^~\\&|APP|FAC|||20240102030405||ADT^"+tc.event+"|1|P|2.5",
				"PID|1||123^^^HOSP^MR||DOE^JOHN", tc.pv1))
			enc := entryOf(t, res, "Encounter")
			if !strings.Contains(string(enc.JSON), `"status":"`+tc.want+`"`) {
				t.Errorf("Encounter %s, want status %s", enc.JSON, tc.want)
			}
		})
	}
}

// TestResultOperations: an OBX-11 correction (C) or deletion (D) updates
// its Observation, and OBR-25 C updates the report; first results create
// them. A deleted OBX becomes entered-in-error.
func TestResultOperations(t *testing.T) {
	for _, tc := range []struct {
		obx11, obr25 string
		obs, dr      Op
		status       string
	}{
		{"F", "F", Created, Created, `"status":"final"`},
		{"P", "P", Created, Created, `"status":"preliminary"`},
		{"C", "C", Updated, Updated, `"status":"corrected"`},
		{"D", "F", Updated, Created, `"status":"entered-in-error"`},
	} {
		t.Run("OBX-11 "+tc.obx11, func(t *testing.T) {
			res := mustConvert(t, msgOf("MSH|^~\\&|LAB|FAC|||20240102030405||ORU^R01|1|P|2.5",
				"PID|1||123^^^HOSP^MR||DOE^JOHN",
				"OBR|1|P1|F1|24317-0^CBC^LN|||20240102||||||||||||||||||"+tc.obr25,
				"OBX|1|NM|718-7^Hgb^LN||13.5|g/dL^g/dL^UCUM|12-16|N|||"+tc.obx11))
			obs, dr := entryOf(t, res, "Observation"), entryOf(t, res, "DiagnosticReport")
			if obs.Op != tc.obs || dr.Op != tc.dr {
				t.Errorf("Observation %s, DiagnosticReport %s; want %s, %s", obs.Op, dr.Op, tc.obs, tc.dr)
			}
			if !strings.Contains(string(obs.JSON), tc.status) {
				t.Errorf("Observation %s lacks %s", obs.JSON, tc.status)
			}
		})
	}
}

// TestUnsupportedMessages: other types and events are ErrUnsupported, with
// the HL7 code saying which part is not supported.
func TestUnsupportedMessages(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		code validation.Code
	}{
		{"ADT^A17", validation.CodeUnsupportedEvent},
		{"ORU^R30", validation.CodeUnsupportedEvent},
		{"SIU^S12", validation.CodeUnsupportedType},
		{"ACK^A01", validation.CodeUnsupportedType},
	} {
		msg, err := hl7.Parse(msgOf("MSH|^~\\&|APP|FAC|||20240102||"+tc.typ+"|1|P|2.5", "PID|1||123"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Convert(msg, Options{})
		var ce *Error
		if !errors.Is(err, ErrUnsupported) || !errors.As(err, &ce) || ce.Code() != tc.code || ce.Location() != "MSH-9" {
			t.Errorf("%s: %v, want ErrUnsupported with code %d at MSH-9", tc.typ, err, tc.code)
		}
	}
}

func msgOf(segs ...string) []byte { return []byte(strings.Join(segs, "\r") + "\r") }

func mustConvert(t *testing.T, raw []byte) *Result {
	t.Helper()
	msg, err := hl7.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert(msg, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func entryOf(t *testing.T, res *Result, typ string) Entry {
	t.Helper()
	for _, e := range res.Entries {
		if e.Type == typ {
			return e
		}
	}
	t.Fatalf("no %s in the result", typ)
	return Entry{}
}
