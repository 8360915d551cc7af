package validation

import (
	"errors"
	"fmt"
	"testing"
)

func TestFindingsOfAFailure(t *testing.T) {
	typed := Errorf(CodeRequiredMissing, "PID-3", "required field missing")
	cases := []struct {
		name     string
		err      error
		wantCode Code
		wantLoc  string
	}{
		{"a typed error gives its findings", typed, CodeRequiredMissing, "PID-3"},
		{"a wrapped typed error gives its findings", fmt.Errorf("parse: %w", typed), CodeRequiredMissing, "PID-3"},
		{"any other error is one internal error", errors.New("broken"), CodeInternal, ""},
		{"a typed error without findings is one internal error", &Error{}, CodeInternal, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := FindingsOf(tc.err)
			if len(fs) != 1 || fs[0].Code != tc.wantCode || fs[0].Location != tc.wantLoc || fs[0].Severity != SeverityError {
				t.Fatalf("FindingsOf = %+v, want one error %v at %q", fs, tc.wantCode, tc.wantLoc)
			}
		})
	}
}

func TestWarningsKeepsOnlyWarningsAndNeverWritesIntoTheFindings(t *testing.T) {
	w1 := Finding{Severity: SeverityWarning, Code: CodeValueTooLong, Location: "PID-5"}
	w2 := Finding{Severity: SeverityWarning, Code: CodeTableValue, Location: "PV1-2"}
	e := Finding{Severity: SeverityError, Code: CodeRequiredMissing, Location: "PID-3"}
	cases := []struct {
		name string
		in   Findings
		want Findings
	}{
		{"no findings give none", nil, nil},
		{"warnings only come back as they are", Findings{w1, w2}, Findings{w1, w2}},
		{"an error among warnings is left out", Findings{w1, e, w2}, Findings{w1, w2}},
		{"errors only give none", Findings{e}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := make(Findings, len(tc.in), len(tc.in)+4) // spare room an append could write into
			copy(in, tc.in)
			got := in.Warnings()
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || (got == nil) != (tc.want == nil) {
				t.Fatalf("Warnings() = %v, want %v", got, tc.want)
			}
			_ = append(got, e)
			if spare := in[:cap(in)][len(in):]; len(spare) > 0 && spare[0] == e {
				t.Fatalf("an append to Warnings() wrote into the findings' spare room")
			}
		})
	}
}
