package hl7

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/validation"
)

// corpusFiles returns the names and contents of the HL7 corpus's files
// whose verdict is verdict (corpus.Valid or corpus.Invalid).
func corpusFiles(tb testing.TB, verdict string) (names []string, data [][]byte) {
	tb.Helper()
	for _, c := range corpus.Select(tb, corpus.HL7, verdict) {
		names = append(names, filepath.Base(c.File))
		data = append(data, c.Read(tb))
	}
	return names, data
}

// parseAll parses a file as a message or, when it is a batch, as each of
// its messages.
func parseAll(raw []byte) ([]*Message, error) {
	if !IsBatch(raw) {
		m, err := Parse(raw)
		if err != nil {
			return nil, err
		}
		return []*Message{m}, nil
	}
	b, err := SplitBatch(raw)
	if err != nil {
		return nil, err
	}
	var out []*Message
	for _, msg := range b.Messages {
		m, err := Parse(msg)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func TestEveryValidCorpusFileParses(t *testing.T) {
	names, data := corpusFiles(t, "valid")
	for i, raw := range data {
		msgs, err := parseAll(raw)
		if err != nil {
			t.Errorf("%s: %v", names[i], err)
			continue
		}
		if len(msgs) == 0 {
			t.Errorf("%s: no message", names[i])
		}
		for _, m := range msgs {
			h := m.Header()
			if h.MessageType == "" {
				t.Errorf("%s: empty message type", names[i])
			}
			walk(t, m)
		}
	}
}

func TestNoCorpusFileMakesAnythingPanic(t *testing.T) {
	for _, dir := range []string{"valid", "invalid"} {
		names, data := corpusFiles(t, dir)
		for i, raw := range data {
			t.Run(dir+"/"+names[i], func(t *testing.T) {
				exercise(t, raw)
			})
		}
	}
}

// TestInvalidCorpusVerdicts checks the files whose MSH is broken in a way
// the lenient level must refuse, and that every refusal is a
// *validation.Error with a location.
func TestInvalidCorpusVerdicts(t *testing.T) {
	mustFail := map[string]validation.Code{
		"hapijava-HL7ServerTest-L95.hl7":                      validation.CodeRequiredMissing, // empty MSH-2
		"hapijava-ProcessorImplTest-L138.hl7":                 validation.CodeRequiredMissing,
		"hapijava-ExtendedMinLowerLayerProtocolTest-L116.hl7": validation.CodeDataType,        // non-ASCII encoding char
		"hapijava-NewPipeParserTest-L540.hl7":                 validation.CodeRequiredMissing, // no MSH-9
		"hapijava-VariesTest-L81.hl7":                         validation.CodeRequiredMissing,
	}
	names, data := corpusFiles(t, "invalid")
	accepted := 0
	for i, raw := range data {
		_, err := parseAll(raw)
		if err == nil {
			accepted++
		}
		want, must := mustFail[names[i]]
		if !must {
			if err != nil {
				var ve *validation.Error
				if !errors.As(err, &ve) || len(ve.Findings) == 0 || ve.Findings[0].Location == "" {
					t.Errorf("%s: error %v is not a located *validation.Error", names[i], err)
				}
			}
			continue
		}
		var ve *validation.Error
		if !errors.As(err, &ve) {
			t.Errorf("%s: got %v, want a *validation.Error with code %d", names[i], err, want)
			continue
		}
		if got := ve.Findings[0].Code; got != want {
			t.Errorf("%s: code %d, want %d (%v)", names[i], got, want, err)
		}
	}
	t.Logf("lenient level accepts %d of %d invalid corpus files (they fail later, in validation)", accepted, len(data))
}

// walk visits every segment, field, repetition, component and
// subcomponent and checks that each is a sub-slice of the message.
func walk(tb testing.TB, m *Message) {
	tb.Helper()
	raw := m.Raw()
	check := func(what string, b []byte) {
		if len(b) > 0 && !within(raw, b) {
			tb.Fatalf("%s is not a sub-slice of the input", what)
		}
	}
	for i := 0; i < m.NumSegments(); i++ {
		s := m.SegmentAt(i)
		check("segment", s.Raw())
		if bytes.ContainsAny(s.Raw(), "\r\n") {
			tb.Fatalf("segment %d holds a line break", i)
		}
		_ = s.Name()
		for f := 1; f <= s.NumFields(); f++ {
			fl := s.Field(f)
			check("field", fl.Raw())
			_ = fl.String()
			for r := 1; r <= fl.NumReps(); r++ {
				rep := fl.Rep(r)
				check("repetition", rep.Raw())
				for c := 1; c <= rep.NumComponents(); c++ {
					comp := rep.Component(c)
					check("component", comp.Raw())
					_ = comp.String()
					for sc := 1; sc <= comp.NumSubs(); sc++ {
						check("subcomponent", comp.Sub(sc))
					}
				}
			}
		}
	}
}

// within reports whether b lies inside raw's memory.
func within(raw, b []byte) bool {
	if len(raw) == 0 || len(b) == 0 {
		return len(b) == 0
	}
	r0 := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
	b0 := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return b0 >= r0 && b0+uintptr(len(b)) <= r0+uintptr(len(raw))
}

// exercise runs every entry point on raw; it must not panic.
func exercise(tb testing.TB, raw []byte) {
	_ = IsBatch(raw)
	if b, err := SplitBatch(raw); err == nil {
		for _, msg := range b.Messages {
			if !within(raw, msg) {
				tb.Fatalf("batch message is not a sub-slice of the input")
			}
		}
	}
	m, err := Parse(raw)
	if err != nil {
		_ = BuildACK(nil, ACKOptions{Code: "AR", Findings: findingsOf(err)})
		return
	}
	walk(tb, m)
	h := m.Header()
	for _, p := range []string{"MSH-9", "MSH-10", "PID-3", "PID-3.1", "PID-3(2).4.1", "OBX(2)-5", "MSH-2.1"} {
		_, _ = m.Get(p)
	}
	ack := BuildACK(m, ACKOptions{Code: "AE", ControlID: "A1", Text: "bad", Findings: validation.Findings{
		{Severity: validation.SeverityError, Code: validation.CodeRequiredMissing, Location: "PID-3.1"},
	}})
	info, err := ParseACK(ack)
	if err != nil {
		tb.Fatalf("ParseACK(BuildACK(m)): %v", err)
	}
	if info.ControlID != h.ControlID {
		tb.Fatalf("ACK MSA-2 %q, want MSH-10 %q", info.ControlID, h.ControlID)
	}
}

func findingsOf(err error) validation.Findings {
	var ve *validation.Error
	if errors.As(err, &ve) {
		return ve.Findings
	}
	return nil
}

func readCorpus(tb testing.TB, name string) []byte {
	tb.Helper()
	return corpus.Read(tb, corpus.HL7, name)
}
