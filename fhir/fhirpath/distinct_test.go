package fhirpath

import (
	"strconv"
	"testing"
)

// TestDistinctOfLongCollections covers distinct() and isDistinct() past
// the size where strings go through a set: order and first occurrences
// kept, FHIR strings and System strings equal by value, and collections
// mixing strings with other types still compared by FHIRPath equality.
func TestDistinctOfLongCollections(t *testing.T) {
	ids := map[string]any{"resourceType": "Questionnaire", "item": []any{}}
	var items []any
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "a", "i", "j", "b"} {
		items = append(items, map[string]any{"linkId": id})
	}
	ids["item"] = items
	tests := []struct {
		name, expr string
		want       string
	}{
		{"linkIds with repeats are not distinct", "item.linkId.isDistinct()", "false"},
		{"distinct keeps the first of each, in order", "item.linkId.distinct().join(',')", "a,b,c,d,e,f,g,h,i,j"},
		{"FHIR and System strings of the same value are one", "(item.linkId | 'a' | 'k').count()", "11"},
		{"a long collection mixing types is compared by FHIRPath equality", "(1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 'x' | 1 | 'x').count()", "10"},
		{"a date and the same date as a string are one, as FHIRPath equality has it", "(@2020-01-01 | '2020-01-01' | 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g').count()", "8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			c, err := e.Evaluate(ids)
			if err != nil {
				t.Fatal(err)
			}
			if len(c) != 1 {
				t.Fatalf("result %v", c)
			}
			if got := stringOf(c[0]); got != tt.want {
				t.Errorf("%s = %s, want %s", tt.expr, got, tt.want)
			}
		})
	}
}

func stringOf(v Value) string {
	s, _ := systemOf(v)
	switch x := s.(type) {
	case String:
		return string(x)
	case Boolean:
		if x {
			return "true"
		}
		return "false"
	case Integer:
		return strconv.FormatInt(int64(x), 10)
	}
	return "?"
}
