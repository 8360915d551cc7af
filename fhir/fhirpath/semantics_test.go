package fhirpath

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// evalString evaluates an expression with no context and renders the
// result as the suite does.
func evalString(t *testing.T, src string) string {
	t.Helper()
	got, err := MustCompile(src).Evaluate(nil)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return formatCollection(got)
}

func TestSystemTypeSemantics(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"decimals keep the scale they were written with", "1.50 + 1", "[decimal 2.50]"},
		{"decimals compare by value whatever the scale", "1.0 = 1.00", "[boolean true]"},
		{"equivalence rounds to the less precise decimal", "1.01 ~ 1.0", "[boolean true]"},
		{"division is decimal and rounds to eight places", "2 / 3", "[decimal 0.66666667]"},
		{"division by zero is empty", "1 / 0", "[]"},
		{"integer division truncates toward zero", "-7 div 2", "[integer -3]"},
		{"integer overflow is empty, not wrapped", "9223372036854775807 + 1", "[]"},
		{"dates of different precision compare as unknown", "@2015 < @2015-02", "[]"},
		{"dates of different precision are not equivalent", "@2015 ~ @2015-02", "[boolean false]"},
		{"date-times compare across zones", "@2012-04-15T15:00:00+02:00 = @2012-04-15T16:00:00+03:00", "[boolean true]"},
		{"seconds and milliseconds are one precision", "@T10:30:00 = @T10:30:00.000", "[boolean true]"},
		{"adding a month clamps to the end of the month", "@2015-01-31 + 1 month", "[date @2015-02-28]"},
		{"a date ignores the fraction of a duration", "@2015-01-01 + 1.9 days", "[date @2015-01-02]"},
		{"UCUM mass units convert", "1 'kg' = 1000 'g'", "[boolean true]"},
		{"customary units convert to metric", "1 '[in_i]' = 2.54 'cm'", "[boolean true]"},
		{"calendar weeks equal UCUM weeks", "1 week = 7 'd'", "[boolean true]"},
		{"calendar years are not UCUM years", "1 year = 1 'a'", "[]"},
		{"quantities of different dimensions do not compare, so = is empty", "1 'kg' = 1 'm'", "[]"},
		{"string equivalence ignores case and spacing", "'Hello  World' ~ 'hello world'", "[boolean true]"},
		{"and with an unknown side is unknown", "{} and true", "[]"},
		{"or with a true side is true", "{} or true", "[boolean true]"},
		{"implies from false is true", "false implies {}", "[boolean true]"},
		{"union removes duplicates", "(1 | 1 | 2).count()", "[integer 2]"},
		{"combine keeps duplicates", "(1).combine(1).count()", "[integer 2]"},
		{"to-string of a quantity quotes the unit", "(5 'mg').toString()", "[string 5 'mg']"},
		{"lowBoundary widens by half the last digit", "1.5.lowBoundary(3)", "[decimal 1.450]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evalString(t, tt.src); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.src, got, tt.want)
			}
		})
	}
}

func TestFHIRNavigation(t *testing.T) {
	obs := map[string]any{
		"resourceType": "Observation",
		"valueQuantity": map[string]any{"value": jsonNumber("72"), "unit": "kg",
			"system": "http://unitsofmeasure.org", "code": "kg"},
		"effectiveDateTime":  "2020-01-02",
		"_effectiveDateTime": map[string]any{"extension": []any{map[string]any{"url": "u", "valueString": "x"}}},
		"contained":          []any{map[string]any{"resourceType": "Patient", "id": "p1"}},
		"subject":            map[string]any{"reference": "#p1"},
	}
	tests := []struct{ name, src, want string }{
		{"a choice element is found by its base name", "Observation.value.unit", "[string kg]"},
		{"the choice suffix gives the type", "Observation.value is Quantity", "[boolean true]"},
		{"a FHIR quantity compares with a literal", "Observation.value > 70 'kg'", "[boolean true]"},
		{"a dateTime element compares with a date literal", "Observation.effective = @2020-01-02", "[boolean true]"},
		{"a primitive's extensions come from its _ sibling", "Observation.effective.extension('u').value", "[string x]"},
		{"a contained reference resolves", "Observation.subject.resolve().id", "[id p1]"},
		{"a contained resource has its own type", "Observation.contained.ofType(Patient).count()", "[integer 1]"},
		{"type() names the FHIR type", "Observation.value.type().name", "[string Quantity]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MustCompile(tt.src).Evaluate(obs)
			if err != nil {
				t.Fatalf("%s: %v", tt.src, err)
			}
			if s := formatCollection(got); s != tt.want {
				t.Errorf("%s = %s, want %s", tt.src, s, tt.want)
			}
		})
	}
}

func TestEvaluationErrorsCarryThePosition(t *testing.T) {
	_, err := MustCompile("1 + 'a'").Evaluate(nil)
	var ee *EvalError
	if !errors.As(err, &ee) || ee.Pos != 2 {
		t.Fatalf("1 + 'a' = %v, want an *EvalError at 2", err)
	}
}

func TestCompileForRefusesWhatTheModelDoesNotHave(t *testing.T) {
	tests := []struct{ name, context, src string }{
		{"a misspelt element", "Patient", "name.given1"},
		{"a typed choice name", "Observation", "valueQuantity.exists()"},
		{"another resource type at the head", "Patient", "Observation.status"},
		{"an element of the type as() selects", "Observation", "(value as Period).unit"},
		{"a string function on a complex element", "Patient", "name.startsWith('P')"},
		{"a plain number added to a date", "Patient", "@2014-01-01 + 1"},
		{"a criterion that is a string literal", "Patient", "iif('yes', 1, 2)"},
		{"an order-dependent function on descendants()", "Patient", "descendants().first()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileFor(tt.src, tt.context, nil)
			var se *SemanticError
			if !errors.As(err, &se) {
				t.Fatalf("CompileFor(%q, %s) = %v, want a *SemanticError", tt.src, tt.context, err)
			}
		})
	}
	for _, src := range []string{"name.given", "Observation.value.unit", "contained.id", "extension('x').value"} {
		ctx := "Patient"
		if src[0] == 'O' {
			ctx = "Observation"
		}
		if _, err := CompileFor(src, ctx, nil); err != nil {
			t.Errorf("CompileFor(%q, %s) = %v, want no error", src, ctx, err)
		}
	}
}

func jsonNumber(s string) any { return json.Number(s) }

func TestR4RegexInvariantsCompileAndMatch(t *testing.T) {
	// A path pattern in the style of R4's eld-20, as the definition's JSON
	// decodes: it uses \s, \. and \[, which FHIRPath does not define as
	// string escapes.
	src := `'Patient.name'.matches('[A-Za-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*(\[x])?)*') and 'a b'.matches('\s')`
	got := evalString(t, src)
	if got != "[boolean true]" {
		t.Fatalf("%s = %s", src, got)
	}
}

func TestANameIsNotAChoiceOfAnUnrelatedElement(t *testing.T) {
	dr := map[string]any{"resourceType": "Library", "codeFilter": []any{map[string]any{"path": "x"}}}
	got, err := MustCompile("code.exists()").Evaluate(dr)
	if err != nil || formatCollection(got) != "[boolean false]" {
		t.Fatalf("code.exists() on a codeFilter = %v, %v; want false", formatCollection(got), err)
	}
}

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

func TestResourcesDecodedWithoutUseNumberStillWork(t *testing.T) {
	obs := map[string]any{"resourceType": "Observation",
		"valueQuantity": map[string]any{"value": 72.5, "code": "kg", "system": "http://unitsofmeasure.org"},
		"component":     []any{map[string]any{"valueInteger": float64(3)}}}
	tests := []struct{ src, want string }{
		{"Observation.value > 70 'kg'", "[boolean true]"},
		{"Observation.component.value + 1", "[integer 4]"},
	}
	for _, tt := range tests {
		got, err := MustCompile(tt.src).Evaluate(obs)
		if err != nil || formatCollection(got) != tt.want {
			t.Errorf("%s = %s, %v; want %s", tt.src, formatCollection(got), err, tt.want)
		}
	}
}

func TestTimeArithmeticWrapsAroundMidnight(t *testing.T) {
	if got := evalString(t, "@T23:30 + 1 hour"); got != "[time @T00:30]" {
		t.Fatalf("@T23:30 + 1 hour = %s", got)
	}
}
