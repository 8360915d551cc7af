package fhirval

import (
	"strings"
	"testing"

	"github.com/hl7gw/gateway/validation"
)

// strictCase is one resource validated in strict mode: with loc empty it
// must have no error, else an error at loc whose message starts with
// message.
type strictCase struct {
	name    string
	body    string
	loc     string // "" when no error is wanted
	message string // prefix of the finding's message
}

// runStrictCases runs each case as a subtest.
func runStrictCases(t *testing.T, tests []strictCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, fs := Validate([]byte(tt.body), Options{Strict: true})
			if tt.loc == "" {
				if fs.HasErrors() {
					t.Fatalf("unexpected findings %v", fs)
				}
				return
			}
			for _, f := range fs {
				if f.Severity == validation.SeverityError && f.Location == tt.loc && strings.HasPrefix(f.Message, tt.message) {
					return
				}
			}
			t.Errorf("no error %q at %s in %v", tt.message, tt.loc, fs)
		})
	}
}
