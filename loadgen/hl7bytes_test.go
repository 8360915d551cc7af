package loadgen

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/hl7gw/gateway/internal/corpus"
)

func TestTemplateRewritesOnlyControlIDs(t *testing.T) {
	tests := []struct {
		name     string
		msg      string
		original string
		want     string
	}{
		{name: "a single message gets the new id in MSH-10",
			msg:      "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|OLD1|P|2.5\rPID|1||42\r",
			original: "OLD1", want: "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|NEW|P|2.5\rPID|1||42\r"},
		{name: "an empty MSH-10 at the end of the segment is filled",
			msg:      "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|\rPID|1\r",
			original: "", want: "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|NEW\rPID|1\r"},
		{name: "another field separator is honoured",
			msg:      "MSH#^~\\&#A#B#C#D#20240101##ADT^A01#X|Y#P#2.5",
			original: "X|Y", want: "MSH#^~\\&#A#B#C#D#20240101##ADT^A01#NEW#P#2.5"},
		{name: "each message of a batch gets its own id",
			msg:      "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|||||||ADT^A04|a|P|2.5\rPID|1\rMSH|^~\\&|||||||ADT^A04|b|P|2.5\nBTS|2\rFTS|1",
			original: "a", want: "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|||||||ADT^A04|NEW|P|2.5\rPID|1\rMSH|^~\\&|||||||ADT^A04|NEW.1|P|2.5\nBTS|2\rFTS|1"},
		{name: "MSH inside a field is not a segment",
			msg:      "MSH|^~\\&|MSH|B|C|D|20240101||ADT^A01|c1|P\rNTE|1||MSH|^~\\&|||||||||x|y\r",
			original: "c1", want: "MSH|^~\\&|MSH|B|C|D|20240101||ADT^A01|NEW|P\rNTE|1||MSH|^~\\&|||||||||x|y\r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := newTemplate([]byte(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if tm.original != tt.original {
				t.Errorf("original = %q, want %q", tm.original, tt.original)
			}
			if got := string(tm.render(nil, "NEW")); got != tt.want {
				t.Errorf("render =\n%q, want\n%q", got, tt.want)
			}
		})
	}
}

func TestTemplateRefusesMessagesWithoutControlID(t *testing.T) {
	for _, msg := range []string{"", "PID|1||42", "MSH|^~\\&|A|B|C|D|20240101||ADT^A01", "xMSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P"} {
		if _, err := newTemplate([]byte(msg)); !errors.Is(err, errNoControlID) {
			t.Errorf("newTemplate(%q) error = %v, want errNoControlID", msg, err)
		}
	}
}

func TestTemplateDetectsDelimitersInControlIDs(t *testing.T) {
	tests := []struct {
		name   string
		msg    string
		prefix string
		want   bool
	}{
		{name: "usual delimiters do not clash", msg: "MSH|^~\\&|||||||ADT^A01|1", prefix: "LG", want: false},
		{name: "a digit as field separator clashes", msg: "MSH2^~\\&2222222ADT^A0121", prefix: "LG", want: true},
		{name: "a dash as component separator clashes", msg: "MSH|-~\\&|||||||ADT-A01|1", prefix: "LG", want: true},
		{name: "a prefix holding the field separator clashes", msg: "MSH|^~\\&|||||||ADT^A01|1", prefix: "L|G", want: true},
		{name: "a prefix holding a carriage return clashes", msg: "MSH|^~\\&|||||||ADT^A01|1", prefix: "L\r", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := newTemplate([]byte(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if got := tm.clashes(tt.prefix); got != tt.want {
				t.Fatalf("clashes(%q) = %v, want %v", tt.prefix, got, tt.want)
			}
		})
	}
}

func TestAckCode(t *testing.T) {
	tests := []struct {
		name string
		ack  string
		want string
	}{
		{name: "an original-mode accept is read", ack: "MSH|^~\\&|R|F|S|F|20240101||ACK^A01|1|P|2.5\rMSA|AA|c1\r", want: "AA"},
		{name: "an enhanced-mode commit reject is read", ack: "MSH|^~\\&|R|F|S|F|20240101||ACK|1|P|2.5\rMSA|CR|c1\rERR|||207\r", want: "CR"},
		{name: "the answer's own field separator is used", ack: "MSH#^~\\&#R#F\rMSA#AE#c1|x\r", want: "AE"},
		{name: "an MSA without control id is still read", ack: "MSH|^~\\&\rMSA|AR", want: "AR"},
		{name: "an MSA segment alone is read with its own separator", ack: "MSA*AA*1", want: "AA"},
		{name: "line feeds between segments are tolerated", ack: "MSH|^~\\&|R\nMSA|AA|1\n", want: "AA"},
		{name: "no MSA is unreadable", ack: "MSH|^~\\&|R|F\rERR|1\r", want: CodeUnreadable},
		{name: "MSA inside a field is not a segment", ack: "MSH|^~\\&|MSA|AA\r", want: CodeUnreadable},
		{name: "a separator differing from MSH-1 is unreadable", ack: "MSH|^~\\&\rMSA#AA#1", want: CodeUnreadable},
		{name: "a lower-case code is unreadable", ack: "MSH|^~\\&\rMSA|aa|1", want: CodeUnreadable},
		{name: "a long code is unreadable", ack: "MSH|^~\\&\rMSA|AAA|1", want: CodeUnreadable},
		{name: "an empty answer is unreadable", ack: "", want: CodeUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ackCode([]byte(tt.ack)); got != tt.want {
				t.Fatalf("ackCode(%q) = %q, want %q", tt.ack, got, tt.want)
			}
		})
	}
}

// FuzzAckCode checks that any answer yields CodeUnreadable or two
// upper-case letters that occur in the answer after "MSA".
func FuzzAckCode(f *testing.F) {
	f.Fuzz(func(t *testing.T, ack []byte) {
		code := ackCode(ack)
		if code == CodeUnreadable {
			return
		}
		if len(code) != 2 || !upper(code[0]) || !upper(code[1]) {
			t.Fatalf("code %q", code)
		}
		if !bytes.Contains(ack, []byte("MSA")) || !bytes.Contains(ack, []byte(code)) {
			t.Fatalf("code %q not in answer %q", code, ack)
		}
	})
}

// FuzzTemplate checks that rendering with the original control id gives
// the message back, and that a rendered message parses to the new ids.
// It is seeded with the whole HL7 corpus at test time.
func FuzzTemplate(f *testing.F) {
	corpus.AddSeeds(f, corpus.HL7)
	f.Fuzz(func(t *testing.T, msg []byte) {
		tm, err := newTemplate(msg)
		if err != nil || tm.clashes("Z") {
			return
		}
		if len(tm.spans) == 1 {
			if got := tm.render(nil, tm.original); !bytes.Equal(got, msg) {
				t.Fatalf("render(original) = %q, want %q", got, msg)
			}
		}
		out := tm.render(nil, "Z-1-2")
		again, err := newTemplate(out)
		if err != nil {
			t.Fatalf("rendered message lost its MSH-10: %v", err)
		}
		if len(again.spans) != len(tm.spans) {
			t.Fatalf("rendered message has %d MSH-10, want %d", len(again.spans), len(tm.spans))
		}
		for k, sp := range again.spans {
			want := "Z-1-2"
			if k > 0 {
				want += "." + strconv.Itoa(k)
			}
			if got := string(out[sp[0]:sp[1]]); got != want {
				t.Fatalf("MSH-10 #%d = %q, want %q", k, got, want)
			}
		}
	})
}
