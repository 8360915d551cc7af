package fhirpath

import (
	"errors"
	"testing"
	"time"
)

// FuzzParse checks that compiling any text returns an expression or a
// positioned error, never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range suiteExpressions(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err != nil {
			var syn *SyntaxError
			var sem *SemanticError
			if !errors.As(err, &syn) && !errors.As(err, &sem) {
				t.Fatalf("Compile(%q) returned an untyped error: %v", src, err)
			}
			return
		}
		if e.String() != src {
			t.Fatalf("String() = %q, want the source", e.String())
		}
	})
}

// FuzzEval checks that evaluating any compilable expression against the
// suite's patient ends, within its step budget, without panicking.
func FuzzEval(f *testing.F) {
	for _, s := range suiteExpressions(f) {
		f.Add(s)
	}
	patient := loadInput(f, "patient-example.xml", map[string]map[string]any{})
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile(src)
		if err != nil {
			return
		}
		start := time.Now()
		_, err = e.Evaluate(patient, WithMaxSteps(20_000), WithNow(now))
		var ee *EvalError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("Evaluate(%q) returned an untyped error: %v", src, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Evaluate(%q) took %v despite the step budget", src, d)
		}
	})
}
