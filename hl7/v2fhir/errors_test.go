package v2fhir

import (
	"errors"
	"os"
	"testing"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/hl7/v2fhir/internal/vocabgen"
	"github.com/hl7gw/gateway/validation"
)

// TestConversionErrors: what cannot be converted fails with an *Error
// naming the HL7 location and a table 0357 code, never the value.
func TestConversionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		segs []string
		loc  string
		code validation.Code
	}{
		{"an immunization without its date", []string{"MSH|^~\\&|A|F|||20240102||VXU^V04|1|P|2.5", "PID|1||1^^^H", "ORC|RE", "RXA|0|1||||"}, "RXA-3", validation.CodeRequiredMissing},
		{"an immunization whose date is not a date", []string{"MSH|^~\\&|A|F|||20240102||VXU^V04|1|P|2.5", "PID|1||1^^^H", "ORC|RE", "RXA|0|1|yesterday|yesterday|08^HepB^CVX"}, "RXA-3", validation.CodeRequiredMissing},
		{"a merge without MRG", []string{"MSH|^~\\&|A|F|||20240102||ADT^A40|1|P|2.5", "PID|1||1^^^H"}, "MRG", validation.CodeRequiredMissing},
		{"a merge without the surviving PID", []string{"MSH|^~\\&|A|F|||20240102||ADT^A40|1|P|2.5", "MRG|2^^^H"}, "PID", validation.CodeRequiredMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := hl7.Parse(msgOf(tc.segs...))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Convert(msg, testOptions)
			var ce *Error
			if !errors.As(err, &ce) || ce.Location() != tc.loc || ce.Code() != tc.code {
				t.Fatalf("got %v, want an *Error %d at %s", err, tc.code, tc.loc)
			}
			if errors.Is(err, ErrUnsupported) {
				t.Error("a conversion failure matches ErrUnsupported")
			}
		})
	}
}

// TestWarningsForValuesLeftOut: a value that is not what its field needs
// is left out (an OBX date kept as text) with a warning naming its
// location, and the rest of the message is converted. A message without a
// PID has no Patient (required patient references carry
// data-absent-reason); a PID without identifiers gets a Patient only that
// message names.
func TestWarningsForValuesLeftOut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		segs  []string
		loc   string
		check func(t *testing.T, res *Result)
	}{
		{"a birth date that is not a date", []string{"MSH|^~\\&|A|F|||20240102||ADT^A01|1|P|2.5", "PID|1||1^^^H||DOE||19620352"}, "PID-7",
			func(t *testing.T, res *Result) {
				if p := entryOf(t, res, "Patient"); contains(p.JSON, "birthDate") || !contains(p.JSON, `"family":"DOE"`) {
					t.Errorf("Patient %s", p.JSON)
				}
			}},
		{"an admit time that is not a time", []string{"MSH|^~\\&|A|F|||20240102||ADT^A01|1|P|2.5", "PID|1||1^^^H", "PV1|1|I|||||||||||||||||V1|||||||||||||||||||||||||2024-01-02"}, "PV1-44",
			func(t *testing.T, res *Result) {
				if e := entryOf(t, res, "Encounter"); contains(e.JSON, "period") {
					t.Errorf("Encounter %s", e.JSON)
				}
			}},
		{"a second OBX whose DT value is not a date", []string{"MSH|^~\\&|A|F|||20240102||ORU^R01|1|P|2.5", "PID|1||1^^^H", "OBR|1|P1", "OBX|1|ST|X^x||ok", "OBX|2|DT|Y^y||yesterday"}, "OBX(2)-5",
			func(t *testing.T, res *Result) {
				n := 0
				for _, e := range res.Entries {
					if e.Type == "Observation" && contains(e.JSON, `"valueString":"yesterday"`) {
						n++
					}
				}
				if n != 1 {
					t.Error("the OBX date that is not a date is not kept as text")
				}
			}},
		{"no patient identifier", []string{"MSH|^~\\&|A|F|||20240102||ADT^A01|7|P|2.5", "PID|1||||DOE", "PV1|1|I"}, "PID-3",
			func(t *testing.T, res *Result) {
				p, e := entryOf(t, res, "Patient"), entryOf(t, res, "Encounter")
				if !contains(e.JSON, `"subject":{"reference":"Patient/`+p.ID+`"}`) {
					t.Errorf("Encounter %s does not name the message's Patient", e.JSON)
				}
			}},
		{"no PID", []string{"MSH|^~\\&|A|F|||20240102||ORU^R01|1|P|2.5", "OBR|1|P1|F1|X^x", "OBX|1|ST|X^x||ok"}, "",
			func(t *testing.T, res *Result) {
				for _, e := range res.Entries {
					if e.Type == "Patient" {
						t.Error("a Patient without a PID")
					}
				}
				sr := entryOf(t, res, "ServiceRequest")
				if !contains(sr.JSON, `"subject":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}`) || sr.Key != "ServiceRequest/"+sr.ID {
					t.Errorf("ServiceRequest %s keyed %s", sr.JSON, sr.Key)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := mustConvert(t, msgOf(tc.segs...))
			if tc.loc != "" {
				if len(res.Warnings) != 1 || res.Warnings[0].Location != tc.loc || res.Warnings[0].Severity != validation.SeverityWarning {
					t.Errorf("warnings %v, want one at %s", res.Warnings, tc.loc)
				}
			} else if len(res.Warnings) != 0 {
				t.Errorf("warnings %v, want none", res.Warnings)
			}
			tc.check(t, res)
		})
	}
}

// TestVocabIsGenerated: vocab_gen.go is what the generator makes of the
// IG's CSVs in ig/codesystems (go generate ./hl7/v2fhir rewrites it).
func TestVocabIsGenerated(t *testing.T) {
	want, err := vocabgen.Generate("ig")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("vocab_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("vocab_gen.go is stale: run go generate ./hl7/v2fhir")
	}
	if c, ok := vocabAdministrativeSex["F"]; !ok || c.Code != "female" || c.System != "http://hl7.org/fhir/administrative-gender" {
		t.Errorf("AdministrativeSex F maps to %+v", c)
	}
	if c := vocabPatientClassEncounterClass["O"]; c.Code != "AMB" || c.Display != "ambulatory" {
		t.Errorf("PatientClass O maps to %+v (display from the column after the code)", c)
	}
	if _, ok := vocabObservationResultStatusCodesInterpretation["I"]; ok {
		t.Error("OBX-11 I, which the IG leaves unmapped, is in the table")
	}
}
