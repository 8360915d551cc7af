package fhirpath

import (
	"errors"
	"strings"
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
		if _, err := CompileFor(src, "Patient", nil); err != nil {
			var sem *SemanticError
			if !errors.As(err, &sem) {
				t.Fatalf("CompileFor(%q) returned %v, want nil or a *SemanticError", src, err)
			}
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

func TestHostileExpressionsFailWithinTheirBudget(t *testing.T) {
	patient := loadInput(t, "patient-example.xml", map[string]map[string]any{})
	tests := []struct {
		name, src string
		endless   bool // must run out of budget; otherwise it may also finish
	}{
		{"an endless repeat", "1.repeat($this + 1)", true},
		{"a string that doubles each round", "'ab'.repeat($this & $this)", true},
		{"a union that keeps growing", "1.repeat($this | ($this + 1))", true},
		{"a decimal squared without end", "1.1.repeat($this * $this)", true},
		{"nested descendants", "descendants().descendants().descendants().descendants().descendants().count()", false},
		{"a self-join of descendants", "descendants().select(%resource.descendants()).distinct().count()", false},
		{"an aggregate that grows", "(1|2|3|4|5|6|7|8|9).aggregate($total.combine($total).combine($this), {}).count()", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := MustCompile(tt.src).Evaluate(patient, WithMaxSteps(100_000))
			if tt.endless && !errors.Is(err, ErrBudget) {
				t.Fatalf("%s = %v; want it to run out of budget", tt.src, err)
			}
			if err != nil && !errors.Is(err, ErrBudget) {
				var ee *EvalError
				if !errors.As(err, &ee) {
					t.Fatalf("%s failed with an untyped error: %v", tt.src, err)
				}
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("%s took %v", tt.src, d)
			}
		})
	}
}

func TestDeepNestingIsASyntaxErrorNotAStackOverflow(t *testing.T) {
	for _, src := range []string{
		strings.Repeat("(", 10000) + "1" + strings.Repeat(")", 10000),
		strings.Repeat("-", 10000) + "1",
		"1" + strings.Repeat(".where(true)", 5000),
	} {
		_, err := Compile(src)
		var se *SyntaxError
		if !errors.As(err, &se) && err != nil {
			t.Errorf("Compile of %d bytes: %v, want a *SyntaxError or success", len(src), err)
		}
	}
}

func TestLongMethodChainsEvaluate(t *testing.T) {
	src := "1" + strings.Repeat(".where(true)", 300)
	got, err := MustCompile(src).Evaluate(nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("a chain of 300 where() = %v, %v", got, err)
	}
}

// TestKeysThatNameNoElementAreNotChildren: a JSON object with the keys ""
// and "_" (a client's mistake, which the validator reports) is walked by
// children() and descendants() without them, and without panicking, as
// Questionnaire's que-2 walks every body posted (it once crashed the
// gateway's gRPC door).
func TestKeysThatNameNoElementAreNotChildren(t *testing.T) {
	resource := map[string]any{
		"resourceType": "Questionnaire",
		"":             []any{map[string]any{"linkId": "hidden"}},
		"_":            map[string]any{"linkId": "hidden too"},
		"item":         []any{map[string]any{"linkId": "a", "": "x", "_": map[string]any{}}},
	}
	for _, tt := range []struct{ expr, want string }{
		{"children().count()", "1"},
		{"descendants().count()", "2"},
		{"descendants().linkId.join(',')", "a"},
		{"descendants().linkId.isDistinct()", "true"},
	} {
		c, err := MustCompile(tt.expr).Evaluate(resource)
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		if len(c) != 1 || stringOf(c[0]) != tt.want {
			t.Errorf("%s = %v, want %s", tt.expr, c, tt.want)
		}
	}
}
