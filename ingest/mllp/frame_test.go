package mllp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// frame wraps s in MLLP delimiters.
func frame(s string) string { return "\x0b" + s + "\x1c\x0d" }

// readAll reads frames until an error and returns the payloads and the error.
func readAll(r *Reader) ([]string, error) {
	var got []string
	for {
		p, err := r.ReadFrame()
		if err != nil {
			return got, err
		}
		got = append(got, string(p))
	}
}

func TestReadFrame(t *testing.T) {
	msg := "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||42\r"
	tests := []struct {
		name      string
		in        string
		max       int
		want      []string
		wantErr   error
		discarded int64
	}{
		{name: "one frame is returned without delimiters", in: frame(msg), want: []string{msg}, wantErr: io.EOF},
		{name: "two frames in one read are both returned in order", in: frame("a") + frame("b"), want: []string{"a", "b"}, wantErr: io.EOF},
		{name: "garbage before the start block is discarded and counted", in: "xyz\r\n" + frame("a"), want: []string{"a"}, wantErr: io.EOF, discarded: 5},
		{name: "bytes between frames are discarded and counted", in: frame("a") + "\n" + frame("b") + "\n", want: []string{"a", "b"}, wantErr: io.EOF, discarded: 2},
		{name: "an empty frame gives an empty payload", in: frame(""), want: []string{""}, wantErr: io.EOF},
		{name: "a 0x1C not followed by 0x0D is payload", in: frame("a\x1cb"), want: []string{"a\x1cb"}, wantErr: io.EOF},
		{name: "a doubled 0x1C keeps the first as payload", in: frame("a\x1c"), want: []string{"a\x1c"}, wantErr: io.EOF},
		{name: "a start block inside a frame is payload", in: frame("a\x0bb"), want: []string{"a\x0bb"}, wantErr: io.EOF},
		{name: "a frame ending with 0x1C alone is truncated at end of stream", in: "\x0babc\x1c", wantErr: io.ErrUnexpectedEOF},
		{name: "a stream ending inside a frame is truncated", in: frame("a") + "\x0bMSH|", want: []string{"a"}, wantErr: io.ErrUnexpectedEOF},
		{name: "an empty stream is a clean end", in: "", wantErr: io.EOF},
		{name: "only garbage is a clean end with everything discarded", in: "hello\x1c\x0d", wantErr: io.EOF, discarded: 7},
		{name: "a payload exactly at the limit is accepted", in: frame("abcd"), max: 4, want: []string{"abcd"}, wantErr: io.EOF},
		{name: "a payload one byte over the limit is too large", in: frame("abcde"), max: 4, wantErr: ErrFrameTooLarge},
		{name: "a lone 0x1C pushing the payload over the limit is too large", in: frame("abcd\x1cx"), max: 4, wantErr: ErrFrameTooLarge},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":        func(r io.Reader) io.Reader { return r },
		"byte-by-byte": iotest.OneByteReader,
		"half":         iotest.HalfReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				r := NewReader(wrap(strings.NewReader(tt.in)), tt.max)
				got, err := readAll(r)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
					t.Fatalf("payloads = %q, want %q", got, tt.want)
				}
				if tt.wantErr != ErrFrameTooLarge && r.Discarded() != tt.discarded {
					t.Fatalf("discarded = %d, want %d", r.Discarded(), tt.discarded)
				}
			})
		}
	}
}

func TestReadFrameResumesAfterOversizedFrame(t *testing.T) {
	tests := []struct {
		name string
		big  string
	}{
		{name: "a plain oversized payload is skipped", big: strings.Repeat("x", 100)},
		{name: "an oversized payload with lone 0x1C bytes is skipped", big: strings.Repeat("x\x1c", 50)},
		{name: "a trailer right at the limit boundary is found", big: strings.Repeat("y", 11)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := frame("ok1") + frame(tt.big) + frame("ok2")
			r := NewReader(iotest.HalfReader(strings.NewReader(in)), 10)
			p, err := r.ReadFrame()
			if err != nil || string(p) != "ok1" {
				t.Fatalf("first frame = %q, %v", p, err)
			}
			if _, err := r.ReadFrame(); !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("second frame error = %v, want ErrFrameTooLarge", err)
			}
			if !r.InFrame() {
				t.Fatal("InFrame = false after an oversized frame, want true")
			}
			p, err = r.ReadFrame()
			if err != nil || string(p) != "ok2" {
				t.Fatalf("third frame = %q, %v", p, err)
			}
			if want := int64(len(frame(tt.big))); r.Discarded() != want {
				t.Fatalf("discarded = %d, want %d", r.Discarded(), want)
			}
		})
	}
}

// countingReader serves an endless oversized frame and counts bytes read.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n == 0 {
		p[0] = StartBlock
		c.n = 1
		return 1, nil
	}
	for i := range p {
		p[i] = 'x'
	}
	c.n += int64(len(p))
	return len(p), nil
}

func TestReadFrameOversizedKeepsMemoryBounded(t *testing.T) {
	const limit = 64 << 10
	src := &countingReader{}
	r := NewReader(src, limit)
	_, err := r.ReadFrame()
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("error = %v, want ErrFrameTooLarge", err)
	}
	if cap(r.buf) > 2*limit {
		t.Fatalf("payload buffer capacity %d for limit %d", cap(r.buf), limit)
	}
	// The reader stops at the limit instead of draining the peer.
	if src.n > limit+2*readBufferSize {
		t.Fatalf("read %d bytes from an oversized frame with limit %d", src.n, limit)
	}
}

func TestReadFrameReleasesLargeBuffers(t *testing.T) {
	big := strings.Repeat("z", 3*keepCap)
	r := NewReader(strings.NewReader(frame(big)+frame("small")), 0)
	if p, err := r.ReadFrame(); err != nil || len(p) != len(big) {
		t.Fatalf("big frame: len %d, %v", len(p), err)
	}
	if p, err := r.ReadFrame(); err != nil || string(p) != "small" {
		t.Fatalf("small frame: %q, %v", p, err)
	}
	if cap(r.buf) > keepCap {
		t.Fatalf("payload buffer kept capacity %d after a small frame", cap(r.buf))
	}
}

type errWriter struct{ writes int }

func (w *errWriter) Write(p []byte) (int, error) {
	w.writes++
	return 0, io.ErrClosedPipe
}

func TestWriteFrame(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, []byte("MSH|x")); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != frame("MSH|x") {
		t.Fatalf("frame = %q", got)
	}
	w := &errWriter{}
	if err := WriteFrame(w, []byte("abc")); !errors.Is(err, io.ErrClosedPipe) || w.writes != 1 {
		t.Fatalf("error = %v after %d writes, want one failed write", err, w.writes)
	}
	r := NewReader(&buf, 0)
	if p, err := r.ReadFrame(); err != nil || string(p) != "MSH|x" {
		t.Fatalf("round trip = %q, %v", p, err)
	}
}
