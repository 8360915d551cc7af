package fhirpath

import (
	"errors"
	"testing"
)

// TestEnvEvaluatesAsItsOptions checks that an Env, built once, gives each
// evaluation what the same options given to Evaluate give, and that its
// step budget applies to each evaluation afresh rather than to the sum.
func TestEnvEvaluatesAsItsOptions(t *testing.T) {
	patient := map[string]any{"resourceType": "Patient", "active": true}
	other := &Node{Type: "Patient", JSON: map[string]any{"resourceType": "Patient", "active": false}}
	expr, err := Compile("%resource.active and %other.active.not()")
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(WithVariable("other", Collection{other}))
	for i := range 3 {
		got, ok, err := expr.EvaluateBoolIn(env, patient)
		want, wantOK, wantErr := expr.EvaluateBool(patient, WithVariable("other", Collection{other}))
		if got != want || ok != wantOK || err != nil || wantErr != nil || !got {
			t.Fatalf("evaluation %d: %v %v %v, Evaluate gives %v %v %v", i, got, ok, err, want, wantOK, wantErr)
		}
	}
	loop, err := Compile("(1 | 2 | 3 | 4 | 5).select($this + 1).count() = 5")
	if err != nil {
		t.Fatal(err)
	}
	one, err := loop.Evaluate(nil)
	if err != nil || len(one) != 1 {
		t.Fatalf("unbudgeted evaluation: %v %v", one, err)
	}
	tight := NewEnv(WithMaxSteps(200))
	for i := range 50 {
		if _, err := loop.EvaluateIn(tight, nil); err != nil {
			t.Fatalf("evaluation %d ran out of a budget meant for each evaluation: %v", i, err)
		}
	}
	if _, err := loop.EvaluateIn(NewEnv(WithMaxSteps(3)), nil); !errors.Is(err, ErrBudget) {
		t.Errorf("a 3-step budget: err %v, want ErrBudget", err)
	}
}
