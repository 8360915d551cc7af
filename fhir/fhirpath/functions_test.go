package fhirpath

import (
	"errors"
	"testing"
	"time"
)

func TestFunctionsTheSuiteDoesNotCover(t *testing.T) {
	now := time.Date(2024, 2, 29, 13, 14, 15, 16e6, time.FixedZone("", 3600))
	tests := []struct{ name, src, want string }{
		{"anyTrue finds one true", "(false | true).anyTrue()", "[boolean true]"},
		{"anyTrue of nothing is false", "{}.anyTrue()", "[boolean false]"},
		{"allFalse needs every item false", "(false | true).allFalse()", "[boolean false]"},
		{"anyFalse finds one false", "(true | false).anyFalse()", "[boolean true]"},
		{"getValue of a System value is the value", "5.getValue()", "[integer 5]"},
		{"now() is the evaluation instant with its zone", "now()", "[dateTime @2024-02-29T13:14:15.016+01:00]"},
		{"today() is the date of that instant", "today()", "[date @2024-02-29]"},
		{"timeOfDay() is its time", "timeOfDay()", "[time @T13:14:15.016]"},
		{"now() stays the same within an evaluation", "now() = now()", "[boolean true]"},
		{"join puts the separator between items", "('a' | 'b' | 'c').join('-')", "[string a-b-c]"},
		{"split then join round-trips", "'a,b'.split(',').join(',')", "[string a,b]"},
		{"hex encoding", "'hi'.encode('hex')", "[string 6869]"},
		{"toDate keeps a date-time's date", "@2015-02-04T14:34:28Z.toDate()", "[date @2015-02-04]"},
		{"toQuantity converts units", "(1 'kg').toQuantity('g')", "[Quantity 1000 'g']"},
		{"power of integers stays integer", "2.power(10)", "[integer 1024]"},
		{"sqrt of a negative is empty", "(-1).sqrt()", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MustCompile(tt.src).Evaluate(nil, WithNow(now))
			if err != nil {
				t.Fatalf("%s: %v", tt.src, err)
			}
			if s := formatCollection(got); s != tt.want {
				t.Errorf("%s = %s, want %s", tt.src, s, tt.want)
			}
		})
	}
}

func TestMemberOfSaysItNeedsATerminologyService(t *testing.T) {
	_, err := MustCompile("'male'.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')").Evaluate(nil)
	var ee *EvalError
	if !errors.As(err, &ee) {
		t.Fatalf("memberOf = %v, want an *EvalError", err)
	}
}

func TestTraceReportsTheNamedCollection(t *testing.T) {
	var seen []string
	_, err := MustCompile("(1 | 2).trace('nums', $this + 10).count()").Evaluate(nil,
		WithTrace(func(name string, c Collection) { seen = append(seen, name+"="+formatCollection(c)) }))
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "nums=[integer 11, integer 12]" {
		t.Fatalf("trace saw %v", seen)
	}
}

func TestConcurrentEvaluationOfOneExpression(t *testing.T) {
	patient := loadInput(t, "patient-example.xml", map[string]map[string]any{})
	e := MustCompile("name.where(use = 'official').given.first() & ' ' & birthDate.toString()")
	done := make(chan string, 8)
	for range 8 {
		go func() {
			got, err := e.Evaluate(patient)
			if err != nil || len(got) != 1 {
				done <- "error"
				return
			}
			done <- formatCollection(got)
		}()
	}
	for range 8 {
		if s := <-done; s != "[string Peter 1974-12-25]" {
			t.Errorf("concurrent evaluation = %s", s)
		}
	}
}
