package fhirval

import (
	"strings"
	"testing"

	"github.com/hl7gw/gateway/validation"
)

// TestMetaProfile covers what a profile claimed in meta.profile leads to,
// following the Java validator's defaults when it may not fetch profiles.
func TestMetaProfile(t *testing.T) {
	const sd = "http://hl7.org/fhir/StructureDefinition/"
	obs := func(profile string) string {
		return `{"resourceType":"Observation","meta":{"profile":["` + profile + `"]},"status":"final","code":{"text":"x"}}`
	}
	tests := []struct {
		name     string
		body     string
		finding  bool                // whether there is one at meta.profile[0]
		severity validation.Severity // its severity
		message  string
	}{
		{"the resource's own core definition says nothing", obs(sd + "Observation"), false, 0, ""},
		{"a base type's core definition says nothing", obs(sd + "DomainResource"), false, 0, ""},
		{"another type's core definition is refused", obs(sd + "Patient"), true, validation.SeverityError, "meta.profile names a definition of type Patient, not Observation"},
		{"a core profile of another type is refused", `{"resourceType":"Patient","meta":{"profile":["` + sd + `vitalsigns"]}}`,
			true, validation.SeverityError, "meta.profile names a definition of type Observation, not Patient"},
		{"a core profile of this type is a warning: not checked", obs(sd + "vitalsigns|4.0.1"), true, validation.SeverityWarning, "meta.profile names a core profile of Observation"},
		{"an unknown profile is a warning: not checked", obs("http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab"),
			true, validation.SeverityWarning, "meta.profile names a profile the gateway does not know"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fs := Validate([]byte(tt.body), Options{Strict: true})
			var got []validation.Finding
			for _, f := range fs {
				if strings.HasSuffix(f.Location, ".meta.profile[0]") {
					got = append(got, f)
				}
			}
			if !tt.finding {
				if len(fs) > 0 {
					t.Fatalf("unexpected findings %v", fs)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != tt.severity || !strings.HasPrefix(got[0].Message, tt.message) {
				t.Fatalf("findings at meta.profile[0] %v, want one of severity %v: %q", got, tt.severity, tt.message)
			}
			if tt.severity == validation.SeverityWarning && fs.HasErrors() {
				t.Errorf("refused: %v", fs)
			}
		})
	}
}
