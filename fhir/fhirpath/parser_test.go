package fhirpath

import (
	"errors"
	"testing"
)

func TestParseAcceptsTheGrammar(t *testing.T) {
	tests := []struct{ name, src string }{
		{"a path with a type head", "Patient.name.given"},
		{"a delimited identifier", "Patient.`name`.given"},
		{"an indexer", "Patient.name[0].given"},
		{"a function with a lambda", "name.where(use = 'official').exists()"},
		{"unions and comparison", "(1 | 2 | 3).count() >= 3"},
		{"a quantity with a UCUM unit", "4 'mg' < 5 'mg'"},
		{"a calendar duration", "@2014-01-01 + 2 weeks"},
		{"a partial date", "@2015-02 < @2015-03"},
		{"a partial date-time", "@2015T.is(DateTime)"},
		{"a time", "@T14:30 > @T12"},
		{"external constants", "%resource.id = %context.id and %`vs-administrative-gender`.exists()"},
		{"hyphenated constants", "%vs-administrative-gender.exists()"},
		{"special variables", "(1|2).aggregate($this + $total, 0) + (1|2).select($index).count()"},
		{"qualified types", "value is FHIR.Quantity or value as System.String"},
		{"long literals", "1L + 2"},
		{"comments", "1 /* two */ + // three\n 2"},
		{"string escapes", `'a\'b\u0041\n'.length()`},
		{"implies and xor", "true implies false xor true"},
		{"an empty collection", "{}.empty()"},
		{"unary minus on a path", "-Patient.name.count()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compile(tt.src); err != nil {
				t.Fatalf("Compile(%q): %v", tt.src, err)
			}
		})
	}
}

func TestParseRejectsBadSyntaxWithPosition(t *testing.T) {
	tests := []struct {
		name, src string
		pos       int
	}{
		{"a dangling operator", "2 + 2 /", 7},
		{"an unterminated comment", "2 + 2 /* open", 6},
		{"an unterminated string", "'abc", 0},
		{"a missing parenthesis", "(1 + 2", 6},
		{"an unknown character", "1 # 2", 2},
		{"a bad date", "@2015-13-01", 0},
		{"an unknown special variable", "$that", 0},
		{"two operands without an operator", "1 2", 2},
		{"a trailing dot", "Patient.", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) = %v, want a *SyntaxError", tt.src, err)
			}
			if se.Pos != tt.pos {
				t.Errorf("Compile(%q) error at %d, want %d: %v", tt.src, se.Pos, tt.pos, se)
			}
		})
	}
}

func TestCompileRejectsUnknownFunctionsAndArity(t *testing.T) {
	for _, src := range []string{"name.frobnicate()", "name.where()", "substring(1, 2, 3)", "name.ofType(1 + 2)"} {
		_, err := Compile(src)
		var se *SemanticError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q) = %v, want a *SemanticError", src, err)
		}
	}
}

func TestParseBindsByFHIRPathPrecedence(t *testing.T) {
	tests := []struct {
		name, src string
		want      Value
	}{
		{"multiplication before addition", "1 + 2 * 3 + 4", Integer(11)},
		{"is binds tighter than comparison, so this is 1 < (2 is Integer)", "(1 | 1 is Integer).count()", Integer(2)},
		{"and before or", "true or false and false", Boolean(true)},
		{"left associative subtraction", "10 - 4 - 3", Integer(3)},
		{"string concatenation with &", "'a' & 'b' + 'c'", String("abc")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MustCompile(tt.src).Evaluate(nil)
			if err != nil || len(got) != 1 || valuesEqual(got[0], tt.want) != triTrue {
				t.Fatalf("%s = %v, %v; want %v", tt.src, got, err, tt.want)
			}
		})
	}
}
