package v2fhir

import (
	"reflect"
	"strings"
	"testing"
)

// The harness's own tests: they run in every `go test`, without Java.

const adt = "MSH|^~\\&|APP|FAC|||20240102||ADT^A01^ADT_A01|1|P|2.5\r" +
	"PID|1||123^^^HOSP^MR~456^^^SSA^SS||DOE^JOHN^^^DR||19700101|M|||1 MAIN ST^^TOWN^ST^12345||\"\"|^NET^Internet^a@b.example\r" +
	"PV1|1|I|WARD^101^A\r" +
	"OBX|1|NM|8867-4^Heart rate^LN||72|/min\r" +
	"OBX|2|ST|8302-2^Height^LN||tall|cm|||||F||||||^^^\"\"\r"

func TestReadSource(t *testing.T) {
	s, err := readSource([]byte(adt))
	if err != nil {
		t.Fatal(err)
	}
	if s.messageType != "ADT^A01" {
		t.Errorf("message type %q", s.messageType)
	}
	for _, tc := range []struct {
		name string
		loc  string
		want []string
	}{
		{"every repetition of a component is read", "PID-3.1", []string{"123", "456"}},
		{"a whole field is read as written", "PID-7", []string{"19700101"}},
		{"HL7's explicit null is no value", "PID-13", nil},
		{"a repetition of only separators is no value", "PID-14.1", nil},
		{"a field of separators and explicit nulls is no value", "OBX-17", nil},
		{"a later component of a field is read", "PID-14.4", []string{"a@b.example"}},
		{"MSH fields are numbered from the field separator", "MSH-10", []string{"1"}},
		{"MSH-1 is the field separator", "MSH-1", []string{"|"}},
		{"every occurrence of a segment is read", "OBX-6", []string{"/min", "cm"}},
		{"a field past the end of the segment is absent", "PV1-44", nil},
		{"a segment the message lacks is absent", "RXA-5", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.values(tc.loc); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s = %q, want %q", tc.loc, got, tc.want)
			}
		})
	}
	if !s.has("PV1") || s.has("PV2") {
		t.Error("has(segment) does not tell which segments occur")
	}
}

func TestReadSourceRefusesWhatIsNoMessage(t *testing.T) {
	for _, in := range []string{"", "PID|1", "BHS|^~\\&|x\rMSH|^~\\&|", "MSH|^~\\&|A|B|||20240102||\r"} {
		if _, err := readSource([]byte(in)); err == nil {
			t.Errorf("readSource(%q) accepted it", in)
		}
	}
}

func TestConditionsReadTheRightSegment(t *testing.T) {
	s, _ := readSource([]byte(adt))
	if !numericWithUnit(s) {
		t.Error("an NM OBX with a unit is not seen")
	}
	s2, _ := readSource([]byte(strings.Replace(adt, "||72|/min", "||72|", 1)))
	if numericWithUnit(s2) {
		t.Error("a unit on an ST OBX counts for the numeric one")
	}
	s3, _ := readSource([]byte(strings.Replace(adt, "||72|/min", "||/min|65-99", 1)))
	if numericWithUnit(s3) {
		t.Error("an NM OBX whose value is no number counts as numeric")
	}
}

func TestCoverageReportsWhatOnlyLFHFills(t *testing.T) {
	elems, err := compileElements()
	if err != nil {
		t.Fatal(err)
	}
	src, _ := readSource([]byte(adt))
	msgs := []message{{name: "m.hl7", src: src}}
	bundle := func(patient string) map[string]any {
		b, err := decodeJSON([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + patient + `}]}`))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lfh := map[string]map[string]any{"m.hl7": bundle(`{"resourceType":"Patient","birthDate":"1970-01-01","gender":"male"}`)}
	gw := map[string]map[string]any{"m.hl7": bundle(`{"resourceType":"Patient","gender":"male","name":[{"family":"DOE"}]}`)}
	table, gaps, err := coverage(elems, msgs, lfh, gw)
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != 1 || !strings.Contains(gaps[0], "Patient.birthDate") {
		t.Errorf("gaps %q, want only Patient.birthDate", gaps)
	}
	for _, want := range []string{"Patient.birthDate", "0/1/1", "Patient.name.family", "1/0/1", "ADT^A01"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	// An element whose source field is absent is no gap, whoever fills it.
	lfh["m.hl7"] = bundle(`{"resourceType":"Patient","deceasedBoolean":true}`)
	if _, gaps, _ := coverage(elems, msgs, lfh, gw); len(gaps) != 0 {
		t.Errorf("gaps %q without PID-29/30 in the message", gaps)
	}
	// A message the gateway refused is one failure (TestSideBySide's), not
	// one per element.
	lfh["m.hl7"] = bundle(`{"resourceType":"Patient","birthDate":"1970-01-01"}`)
	if _, gaps, _ := coverage(elems, msgs, lfh, map[string]map[string]any{}); len(gaps) != 0 {
		t.Errorf("gaps %q for a message the gateway refused", gaps)
	}
}

func TestEveryElementNamesItsSource(t *testing.T) {
	names := map[string]bool{}
	for _, e := range elements {
		if len(e.src) == 0 && e.when == nil {
			t.Errorf("%s has no source field: it would be a gap in every message", e.name)
		}
		if names[e.name] {
			t.Errorf("%s twice", e.name)
		}
		names[e.name] = true
		for _, l := range e.src {
			parseLoc(l) // panics on a malformed location
		}
	}
	if len(elements) < 40 {
		t.Errorf("%d elements, issue 16 wants at least 40", len(elements))
	}
}
