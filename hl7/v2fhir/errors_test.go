package v2fhir

import (
	"errors"
	"os"
	"path/filepath"
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
		{"no PID", []string{"MSH|^~\\&|A|F|||20240102||ADT^A01|1|P|2.5", "PV1|1|I"}, "PID", validation.CodeRequiredMissing},
		{"no patient identifier", []string{"MSH|^~\\&|A|F|||20240102||ADT^A01|1|P|2.5", "PID|1||||DOE"}, "PID-3", validation.CodeRequiredMissing},
		{"a birth date that is not a date", []string{"MSH|^~\\&|A|F|||20240102||ADT^A01|1|P|2.5", "PID|1||1^^^H||DOE||19620352"}, "PID-7", validation.CodeDataType},
		{"an admit time that is not a time", []string{"MSH|^~\\&|A|F|||20240102||ADT^A01|1|P|2.5", "PID|1||1^^^H", "PV1|1|I|||||||||||||||||V1|||||||||||||||||||||||||2024-01-02"}, "PV1-44", validation.CodeDataType},
		{"a second OBX whose DT value is not a date", []string{"MSH|^~\\&|A|F|||20240102||ORU^R01|1|P|2.5", "PID|1||1^^^H", "OBR|1|P1", "OBX|1|ST|X^x||ok", "OBX|2|DT|Y^y||yesterday"}, "OBX(2)-5", validation.CodeDataType},
		{"an immunization without its date", []string{"MSH|^~\\&|A|F|||20240102||VXU^V04|1|P|2.5", "PID|1||1^^^H", "ORC|RE", "RXA|0|1||||"}, "RXA-3", validation.CodeRequiredMissing},
		{"a merge without MRG", []string{"MSH|^~\\&|A|F|||20240102||ADT^A40|1|P|2.5", "PID|1||1^^^H"}, "MRG", validation.CodeRequiredMissing},
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

// TestVocabIsGenerated: vocab_gen.go is what the generator makes of the
// IG's CSVs in ig/codesystems (go generate ./hl7/v2fhir rewrites it).
func TestVocabIsGenerated(t *testing.T) {
	want, err := vocabgen.Generate(filepath.Join("ig", "codesystems"))
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
