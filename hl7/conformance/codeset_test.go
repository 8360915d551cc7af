package conformance

import (
	"fmt"
	"testing"
)

func TestCodeSetFindsExactlyTheTablesValues(t *testing.T) {
	set := func(vals ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, v := range vals {
			m[v] = struct{}{}
		}
		return m
	}
	var many []string // enough to collide in the hash table
	for i := range 40 {
		many = append(many, fmt.Sprintf("C%02d", i))
	}
	tests := []struct {
		name      string
		id        string
		vals      map[string]struct{}
		v         string
		in, known bool
	}{
		{"a small table's value is in it", "0001", set("F", "M", "U"), "M", true, true},
		{"a value of another length is not, even sharing a prefix", "0001", set("F", "M", "U"), "MM", false, true},
		{"an empty value is not in a table without one", "0001", set("F", "M"), "", false, true},
		{"a code of seven bytes is packed and found", "0999", set("ABCDEFG", "X"), "ABCDEFG", true, true},
		{"a code of eight bytes is found through the string set", "0999", set("ABCDEFGH", "X"), "ABCDEFGH", true, true},
		{"a long code's seven-byte prefix is not the code", "0999", set("ABCDEFGH"), "ABCDEFG", false, true},
		{"a value a NUL byte pads is not the shorter code", "0001", set("F"), "F\x00", false, true},
		{"a large table's first value is found", "0999", set(many...), "C00", true, true},
		{"a large table's last value is found", "0999", set(many...), "C39", true, true},
		{"a value between a large table's values is not", "0999", set(many...), "C3", false, true},
		{"coding systems accept local 99zzz codes", "0396", set("LN", "SCT"), "99LOCAL", true, true},
		{"coding systems accept HL7nnnn tables", "0396", set("LN"), "HL70001", true, true},
		{"coding systems refuse other unknown codes", "0396", set("LN"), "XYZ", false, true},
		{"a table without values knows nothing", "0999", nil, "A", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, known := inValues(newCodeSet(tt.id, tt.vals), []byte(tt.v))
			if in != tt.in || known != tt.known {
				t.Fatalf("inValues(%q) = %v, %v; want %v, %v", tt.v, in, known, tt.in, tt.known)
			}
		})
	}
}
