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
