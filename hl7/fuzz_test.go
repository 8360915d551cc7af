package hl7

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/hl7gw/gateway/validation"
)

// Each target is seeded at test time from the HL7 corpus (seedsFromCorpus);
// inputs that fuzzing finds are kept in testdata/fuzz/ as usual.

func FuzzParse(f *testing.F) {
	f.Add([]byte("MSH|^~\\&|A|B|C|D|2024||ADT^A01^ADT_A01|1|P|2.5\rPID|1||1^^^H\r"))
	for _, raw := range seedsFromCorpus(f).files {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		orig := bytes.Clone(raw)
		exercise(t, raw)
		m, err := Parse(raw)
		if err != nil {
			if findingsOf(err) == nil {
				t.Fatalf("error %v is not a *validation.Error", err)
			}
			return
		}
		for i := 0; i < m.NumSegments(); i++ {
			if !within(raw, m.SegmentAt(i).Raw()) {
				t.Fatalf("segment %d is not a sub-slice of the input", i)
			}
		}
		d := m.Delimiters()
		for i := 0; i < m.NumSegments(); i++ {
			s := m.SegmentAt(i)
			for n := 1; n <= min(s.NumFields(), 30); n++ {
				v := s.Field(n).Raw()
				if bytes.IndexByte(v, d.Field) >= 0 && !(s.msh && n == 1) {
					t.Fatalf("field %d of segment %d holds the field separator", n, i)
				}
			}
		}
		sameMSHFields(t, m)
		ack := BuildACK(m, ACKOptions{Code: "CE", ControlID: string(raw[:min(len(raw), 20)]), Text: string(raw[:min(len(raw), 40)]),
			Findings: validation.Findings{{Code: validation.CodeDataType, Location: "OBX(2)-5.1.2", Message: "m"}}})
		if _, err := Parse(ack); err != nil {
			t.Fatalf("the ACK does not parse: %v", err)
		}
		if !bytes.Equal(raw, orig) {
			t.Fatal("the input was modified")
		}
	})
}

// sameMSHFields fails unless the MSH fields found at parse time are the
// ones Segment.Field finds by scanning, atomic MSH-1 and MSH-2 included.
func sameMSHFields(t *testing.T, m *Message) {
	t.Helper()
	msh := m.MSH()
	var split [MSHFieldsKept + 3]Field
	m.MSHFields(split[:MSHFieldsKept])
	for n := 1; n <= MSHFieldsKept+3; n++ {
		want, got := msh.Field(n), m.MSHField(n)
		if !bytes.Equal(got.Raw(), want.Raw()) || got.atomic != want.atomic {
			t.Fatalf("MSHField(%d) = %q (atomic %v), the segment's field is %q (atomic %v)", n, got.Raw(), got.atomic, want.Raw(), want.atomic)
		}
		if n <= MSHFieldsKept && (!bytes.Equal(split[n-1].Raw(), want.Raw()) || split[n-1].atomic != want.atomic) {
			t.Fatalf("MSHFields[%d] = %q, the segment's field is %q", n-1, split[n-1].Raw(), want.Raw())
		}
	}
}

func FuzzSplitBatch(f *testing.F) {
	f.Add([]byte("FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|||||||ADT^A01|1\rBTS|1\rFTS|1"))
	for _, raw := range seedsFromCorpus(f).batches {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := SplitBatch(raw)
		if err != nil {
			if findingsOf(err) == nil {
				t.Fatalf("error %v is not a *validation.Error", err)
			}
			return
		}
		end := 0
		for i, m := range b.Messages {
			if !within(raw, m) {
				t.Fatalf("message %d is not a sub-slice of the input", i)
			}
			if !bytes.HasPrefix(m, []byte("MSH")) {
				t.Fatalf("message %d does not start with MSH", i)
			}
			start := offsetIn(raw, m)
			if start < end {
				t.Fatalf("message %d overlaps the previous one", i)
			}
			end = start + len(m)
		}
		for _, h := range [][]byte{b.FHS, b.BHS, b.BTS, b.FTS} {
			if h != nil && !within(raw, h) {
				t.Fatal("an envelope segment is not a sub-slice of the input")
			}
		}
	})
}

func FuzzUnescape(f *testing.F) {
	f.Add([]byte(`a\F\b\S\c\T\d\R\e\E\f\X41\\H\\.br\\Zxx\`), []byte("|^~\\&"))
	f.Add([]byte("plain"), []byte("*:+?$#"))
	for _, e := range seedsFromCorpus(f).escaped {
		f.Add(e[0], e[1])
	}
	f.Fuzz(func(t *testing.T, in, delims []byte) {
		if len(delims) < 5 {
			return
		}
		d, loc, _ := parseDelimiters(delims[0], delims[1:min(len(delims), 6)])
		if loc != "" {
			return
		}
		out := Unescape(in, d)
		if bytes.IndexByte(in, d.Escape) < 0 && !bytes.Equal(out, in) {
			t.Fatalf("Unescape changed %q without an escape character", in)
		}
		if len(out) > len(in) {
			t.Fatalf("Unescape grew %q to %q", in, out)
		}
		s := string(in)
		esc := Escape(s, d)
		if back := string(Unescape([]byte(esc), d)); back != s {
			t.Fatalf("Unescape(Escape(%q)) = %q via %q", s, back, esc)
		}
		if bytes.ContainsAny([]byte(esc), "\r\n") {
			t.Fatalf("Escape(%q) = %q holds a line break", s, esc)
		}
		for _, c := range []byte{d.Field, d.Component, d.Repetition, d.Subcomponent} {
			if bytes.IndexByte([]byte(esc), c) >= 0 {
				t.Fatalf("Escape(%q) = %q holds delimiter %q", s, esc, c)
			}
		}
		if utf8.ValidString(s) && !utf8.ValidString(esc) {
			t.Fatalf("Escape(%q) = %q broke UTF-8", s, esc)
		}
	})
}
