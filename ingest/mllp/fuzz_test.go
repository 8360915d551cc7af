package mllp

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/hl7gw/gateway/internal/corpus"
)

// refFrame is one result of the reference reader: a payload or an error.
type refFrame struct {
	payload []byte
	err     error
}

// refRead is a deliberately naive, byte-at-a-time reading of the framing
// rules documented on Reader, used as the oracle for FuzzReadFrame.
func refRead(in []byte, max int) (out []refFrame, discarded int64) {
	i := 0
	for {
		for i < len(in) && in[i] != StartBlock {
			i++
			discarded++
		}
		if i == len(in) {
			return append(out, refFrame{err: io.EOF}), discarded
		}
		start := i
		i++
		var payload []byte
		tooBig := false
		for {
			if i == len(in) {
				return append(out, refFrame{err: io.ErrUnexpectedEOF}), discarded
			}
			if in[i] == EndBlock && i+1 < len(in) && in[i+1] == CarriageReturn {
				i += 2
				break
			}
			if in[i] == EndBlock && i+1 == len(in) {
				return append(out, refFrame{err: io.ErrUnexpectedEOF}), discarded
			}
			payload = append(payload, in[i])
			i++
		}
		if len(payload) > max {
			tooBig = true
		}
		if tooBig {
			discarded += int64(i - start)
			out = append(out, refFrame{err: ErrFrameTooLarge})
			continue
		}
		out = append(out, refFrame{payload: payload})
	}
}

// FuzzReadFrame checks Reader against refRead on arbitrary input, reading
// whole, byte by byte, and in halves. An oversized frame cut short by the
// end of input is reported as too large by Reader (it stops at the limit)
// and as truncated by the oracle; both are accepted there. The seed corpus
// in testdata/fuzz/FuzzReadFrame holds hand-made edge cases (lone and
// nested delimiters, empty frames); corpusFrameSeeds adds messages of the
// HL7 corpus at test time, framed, framed twice after garbage, cut short
// and over the limit.
func FuzzReadFrame(f *testing.F) {
	for _, s := range corpusFrameSeeds(f) {
		f.Add(s.in, s.max)
	}
	f.Fuzz(func(t *testing.T, in []byte, max uint16) {
		limit := int(max)
		if limit == 0 {
			limit = DefaultMaxFrameSize
		}
		want, wantDiscarded := refRead(in, limit)
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"whole": func(r io.Reader) io.Reader { return r },
			"byte":  iotest.OneByteReader,
			"half":  iotest.HalfReader,
		} {
			r := NewReader(wrap(bytes.NewReader(in)), int(max))
			for k, w := range want {
				p, err := r.ReadFrame()
				if w.err == nil {
					if err != nil || !bytes.Equal(p, w.payload) {
						t.Fatalf("%s: frame %d = %q, %v; want %q", name, k, p, err, w.payload)
					}
					if len(p) > limit {
						t.Fatalf("%s: frame %d has %d bytes over limit %d", name, k, len(p), limit)
					}
					continue
				}
				if errors.Is(err, ErrFrameTooLarge) && errors.Is(w.err, io.ErrUnexpectedEOF) {
					break // cut-short oversized frame, see above
				}
				if !errors.Is(err, w.err) {
					t.Fatalf("%s: frame %d error = %v, want %v", name, k, err, w.err)
				}
				if errors.Is(w.err, io.EOF) && r.Discarded() != wantDiscarded {
					t.Fatalf("%s: discarded = %d, want %d", name, r.Discarded(), wantDiscarded)
				}
				if !errors.Is(w.err, ErrFrameTooLarge) {
					break
				}
			}
		}
	})
}

// loop replays a byte stream forever.
type loop struct {
	data []byte
	off  int
}

func (l *loop) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func BenchmarkReadFrame(b *testing.B) {
	msg := corpus.Read(b, corpus.HL7, "valid/fhirconv-OUL-R23-02.hl7")
	r := NewReader(&loop{data: AppendFrame(nil, msg)}, 0)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTakeFrame reads frames the way the server does, each one kept
// by its handler: a message of the usual size, and the corpus's largest
// (a document of about 200 KB, read in 32 KiB chunks) between two small
// ones, which shows what growing and handing over the buffer allocate.
func BenchmarkTakeFrame(b *testing.B) {
	small := corpus.Read(b, corpus.HL7, "valid/fhirconv-OUL-R23-02.hl7")
	large := corpus.Read(b, corpus.HL7, "valid/nhapics-PipeParserLargeEmbeddedFileTest-L21.hl7")
	for _, c := range []struct {
		name   string
		frames [][]byte
	}{
		{"usual", [][]byte{small}},
		{"large-between-usual", [][]byte{small, large, small}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var data []byte
			size := 0
			for _, f := range c.frames {
				data = AppendFrame(data, f)
				size += len(f)
			}
			r := NewReader(&loop{data: data}, 0)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				for range c.frames {
					if _, err := r.TakeFrame(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// frameSeedFiles are the corpus messages FuzzReadFrame starts from: short
// and long, with escapes, LF-free and CR-separated, and one fuzzed file
// whose encoding characters are not the usual ones.
var frameSeedFiles = []string{
	"valid/pyhl7-sample_hl7.hl7",
	"valid/fhirconv-ADT-A01-02.hl7",
	"valid/fhirconv-OUL-R23-02.hl7",
	"valid/lenaten-msg4.hl7",
	"invalid/nhapi-bad-PipeParser-HL7Exception-id_000001_sig_02_src_000000_op_havoc_rep_16.hl7",
}

type frameSeed struct {
	in  []byte
	max uint16
}

// corpusFrameSeeds returns, for each of frameSeedFiles, the message framed
// (default limit), after garbage and followed by a second frame (limit:
// the message's length), followed by a small frame under a limit of half
// the message (oversized), and its frame cut in the middle (truncated).
func corpusFrameSeeds(tb testing.TB) []frameSeed {
	tb.Helper()
	var out []frameSeed
	for _, name := range frameSeedFiles {
		msg := corpus.Read(tb, corpus.HL7, name)
		frame := AppendFrame(nil, msg)
		second := AppendFrame(nil, []byte("MSH|^~\\&|x"))
		out = append(out,
			frameSeed{frame, 0},
			frameSeed{append(append([]byte("garbage\r\n"), frame...), second...), uint16(min(len(msg), 65535))},
			frameSeed{append(append([]byte(nil), frame...), second...), uint16(min(len(msg)/2, 65535))},
			frameSeed{frame[:len(frame)/2], 0},
		)
	}
	return out
}
