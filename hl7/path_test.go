package hl7

import "testing"

const pathMessage = "MSH|^~\\&|SEND^FAC|SF|RECV|RF|20240101||ORU^R01^ORU_R01|CTL1|P|2.5\r" +
	"PID|1||123^^^HOSP&1.2.3&ISO^MR~456^^^OTHER||DOE\\S\\X^JANE||\"\"\r" +
	"OBX|1|NM|GLU||5.5|mmol/L\r" +
	"OBX|2|ST|NOTE||a\\F\\b~second|x\r"

func TestGet(t *testing.T) {
	m, err := Parse([]byte(pathMessage))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
		ok   bool
	}{
		{"MSH-1 is the field separator", "MSH-1", "|", true},
		{"MSH-2 is the encoding characters as written", "MSH-2", "^~\\&", true},
		{"MSH-3 is the first field after MSH-2", "MSH-3", "SEND^FAC", true},
		{"MSH-3.2 reaches a component of MSH-3", "MSH-3.2", "FAC", true},
		{"MSH-9.2 is the trigger event", "MSH-9.2", "R01", true},
		{"a whole field keeps all repetitions", "PID-3", "123^^^HOSP&1.2.3&ISO^MR~456^^^OTHER", true},
		{"a component without a repetition reads the first repetition", "PID-3.1", "123", true},
		{"a repetition is selected in parentheses", "PID-3(2)", "456^^^OTHER", true},
		{"a component of the second repetition", "PID-3(2).4", "OTHER", true},
		{"a subcomponent is the fourth level", "PID-3.4.2", "1.2.3", true},
		{"a subcomponent of the second repetition", "PID-3(2).4.1", "OTHER", true},
		{"values are unescaped", "PID-5.1", "DOE^X", true},
		{"a segment occurrence is selected in parentheses", "OBX(2)-5", "a|b~second", true},
		{"the first occurrence is the default", "OBX-5", "5.5", true},
		{"an explicit first occurrence is the same", "OBX(1)-3", "GLU", true},
		{"a repetition of a repeated OBX-5", "OBX(2)-5(2)", "second", true},
		{"the null value is returned as written", "PID-7", `""`, true},
		{"an empty field that exists is present", "PID-2", "", true},
		{"a component of an empty field is present and empty", "PID-2.1", "", true},
		{"a field beyond the segment is absent", "PID-30", "", false},
		{"a third OBX is absent", "OBX(3)-5", "", false},
		{"a missing segment is absent", "NK1-2", "", false},
		{"a repetition beyond the last is absent", "PID-3(3)", "", false},
		{"a component beyond the last is absent", "PID-3.9", "", false},
		{"a subcomponent beyond the last is absent", "PID-3.4.4", "", false},
		{"MSH-2 has no second component", "MSH-2.2", "", false},
		{"a path without field is invalid", "PID", "", false},
		{"field zero is invalid", "PID-0", "", false},
		{"occurrence zero is invalid", "OBX(0)-5", "", false},
		{"trailing garbage is invalid", "PID-3.1x", "", false},
		{"an empty path is invalid", "", "", false},
		{"an unclosed parenthesis is invalid", "OBX(2-5", "", false},
		{"five levels are invalid", "PID-3.1.1.1", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := m.Get(tt.path)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Get(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
			}
			raw, rok := m.GetRaw(tt.path)
			if rok != tt.ok {
				t.Errorf("GetRaw(%q) ok = %v, want %v", tt.path, rok, tt.ok)
			}
			if len(raw) > 0 && !within(m.Raw(), raw) {
				t.Errorf("GetRaw(%q) is not a sub-slice of the message", tt.path)
			}
		})
	}
}

func TestGetRawKeepsEscapes(t *testing.T) {
	m, err := Parse([]byte(pathMessage))
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := m.GetRaw("PID-5.1")
	if !ok || string(raw) != `DOE\S\X` {
		t.Errorf("GetRaw(PID-5.1) = %q, %v", raw, ok)
	}
}

func TestPathString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"a plain field path is unchanged", "PID-3", "PID-3"},
		{"first occurrences and repetitions are dropped", "OBX(1)-5(1).1", "OBX-5.1"},
		{"later occurrences and repetitions are kept", "OBX(2)-5(3).1.2", "OBX(2)-5(3).1.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := parsePath(tt.in)
			if !ok {
				t.Fatalf("parsePath(%q) failed", tt.in)
			}
			if got := p.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMSHFieldsAreFoundOnceWhereTheSegmentHasThem(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"a header with every field up to the version", "MSH|^~\\&|APP|FAC|RAPP|RFAC|20240101||ADT^A01|1|P|2.5\rPID|1\r"},
		{"a header of only its separators", "MSH|^~\\&\r"},
		{"a header that ends in a field separator", "MSH|^~\\&|A|"},
		{"a header with empty fields in between", "MSH|^~\\&||||||||ADT^A01|||2.5"},
		{"a header longer than the fields kept", "MSH|^~\\&|1|2|3|4|5|6|ADT^A01|8|P|2.8|11|12|13|14|15|16|17|18|19|20|21|22|23"},
		{"a header after a leading blank line, other separators", "\rMSH#*~\\@#A@x#B\rPID#1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMSH([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			sameMSHFields(t, m)
		})
	}
}
