package badinput

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/corpus"
)

// errClosed is what mllpRoundTrip returns when the gateway closed the
// connection without answering.
var errClosed = errors.New("connection closed without an answer")

// mllpRoundTrip sends payload in one MLLP frame on a new connection to gw
// and returns the answer's payload, or errClosed when the gateway closes
// the connection instead. Waits are bounded generously (30s).
func mllpRoundTrip(payload []byte) ([]byte, error) {
	return mllpRoundTripFrom(&net.Dialer{}, gw.MLLPAddr, payload)
}

// mllpRoundTripFrom is mllpRoundTrip to addr on a connection from d (which
// may name the local address to send from).
func mllpRoundTripFrom(d *net.Dialer, addr string, payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial mllp: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	frame := make([]byte, 0, len(payload)+3)
	frame = append(frame, 0x0b)
	frame = append(frame, payload...)
	frame = append(frame, 0x1c, 0x0d)
	if _, err := c.Write(frame); err != nil {
		// The gateway may close while a large frame is still being written.
		if isClosedErr(err) {
			return nil, errClosed
		}
		return nil, fmt.Errorf("write frame: %w", err)
	}
	var got []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if i := bytes.Index(got, []byte{0x1c, 0x0d}); i >= 0 {
			start := bytes.IndexByte(got, 0x0b)
			if start < 0 || start > i {
				return nil, fmt.Errorf("answer frame without start block: %q", got)
			}
			return got[start+1 : i], nil
		}
		if err != nil {
			if len(got) == 0 && isClosedErr(err) {
				return nil, errClosed
			}
			return nil, fmt.Errorf("read answer (%d bytes so far): %w", len(got), err)
		}
	}
}

func isClosedErr(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe")
}

// msaCode is MSA-1 of an ACK ("" when there is none).
func msaCode(ack []byte) string {
	for _, seg := range bytes.Split(ack, []byte{'\r'}) {
		if bytes.HasPrefix(seg, []byte("MSA|")) {
			f := bytes.Split(seg, []byte{'|'})
			if len(f) > 1 {
				return string(f[1])
			}
		}
	}
	return ""
}

// mllpCase is one bad MLLP frame and the answers it may get.
type mllpCase struct {
	name    string
	payload []byte
	// want lists the acceptable MSA-1 codes; "closed" means the gateway
	// must close the connection without an ACK.
	want []string
}

const closed = "closed"

// badHL7Bases are the corpus messages the MLLP suite mutates: an ORU, an
// ORM with non-ASCII bytes, and three ADTs of other versions and events.
var badHL7Bases = []string{
	"valid/pyhl7-sample_hl7.hl7",
	"valid/kardianos-order2.hl7",
	"valid/fhirconv-ADT-A06-01.hl7",
	"valid/fhirconv-ADT04-23.hl7",
	"valid/fhirconv-ORM-O01-01.hl7",
}

// corpusHL7 returns badHL7Bases from the HL7 corpus, by file name.
func corpusHL7(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range badHL7Bases {
		out[path.Base(f)] = corpus.Read(t, corpus.HL7, f)
	}
	return out
}

// msh9End is the offset just after MSH-9 in msg, or -1.
func msh9End(msg []byte) int {
	fields := 0
	for i := 3; i < len(msg) && msg[i] != '\r'; i++ {
		if msg[i] == '|' {
			fields++
			// The 9th '|' after "MSH" ends MSH-9 (MSH-1 is the first '|').
			if fields == 9 {
				return i
			}
		}
	}
	return -1
}

// mllpCases builds the MLLP cases. In the default lenient mode a parseable
// MSH with MSH-9 is enough, so a message cut after MSH-9 may be accepted
// (AA, with warnings); one cut before the end of MSH-9 must be refused (AE,
// or AR for an unsupported type).
func mllpCases(t *testing.T) []mllpCase {
	var cases []mllpCase
	for name, msg := range corpusHL7(t) {
		end := msh9End(msg)
		if end < 0 {
			t.Fatalf("%s: no MSH-9", name)
		}
		cuts := map[string]int{
			"after 1 byte": 1, "after 3 bytes": 3, "after the field separator": 4,
			"inside the encoding characters": 6, "just before MSH-9": bytes.LastIndexByte(msg[:end], '|') + 1,
			"at a quarter": len(msg) / 4, "at half": len(msg) / 2, "at three quarters": 3 * len(msg) / 4,
			"one byte short": len(msg) - 1,
		}
		for label, cut := range cuts {
			want := []string{"AE", "AR"}
			if cut > end {
				want = []string{"AA", "AE"}
			}
			cases = append(cases, mllpCase{name: fmt.Sprintf("%s cut %s (%d of %d bytes)", name, label, cut, len(msg)), payload: msg[:cut], want: want})
		}
	}
	rng := rand.New(rand.NewSource(6))
	for i := 0; i < 30; i++ {
		p := make([]byte, 1+rng.Intn(4096))
		rng.Read(p)
		// MLLP delimiters would end or restart the frame: keep one frame.
		for j := range p {
			if p[j] == 0x1c || p[j] == 0x0b {
				p[j] = 0x7f
			}
		}
		if bytes.HasPrefix(p, []byte("MSH")) {
			p[0] = 0
		}
		cases = append(cases, mllpCase{name: fmt.Sprintf("random binary frame %d of %d bytes", i, len(p)), payload: p, want: []string{"AE"}})
	}
	// Control bytes in MSH-9 (the message type): never a known type.
	for b := byte(0x00); b < 0x20; b++ {
		if b == 0x0b || b == 0x1c {
			continue // the MLLP framing bytes
		}
		p := []byte(fmt.Sprintf("MSH|^~\\&|APP|FAC|GW|GW|20240101120000||A%cT^A01|CTL%02X|P|2.5\rPID|1||123^^^H", b, b))
		want := []string{"AE", "AR"}
		if b == '\r' || b == '\n' {
			// A segment break: MSH ends with MSH-9 "A", which lenient mode
			// accepts (with warnings for the missing MSH-10..12).
			want = []string{"AA", "AE", "AR"}
		}
		cases = append(cases, mllpCase{name: fmt.Sprintf("control byte 0x%02X in MSH-9", b), payload: p, want: want})
	}
	// Control bytes as the encoding characters (MSH-2).
	for _, b := range []byte{0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f} {
		p := []byte(fmt.Sprintf("MSH|%c~\\&|APP|FAC|GW|GW|20240101120000||ADT^A01|CTL|P|2.5\rPID|1", b))
		cases = append(cases, mllpCase{name: fmt.Sprintf("control byte 0x%02X as the component separator", b), payload: p, want: []string{"AE", "AR"}})
	}
	for i, bad := range [][]byte{{0xff}, {0xc3, 0x28}, {0xe2, 0x82}, {0xf0, 0x28, 0x8c, 0x28}, {0xed, 0xa0, 0x80}, {0xc0, 0xaf}} {
		p := append([]byte("MSH|^~\\&|APP|FAC|GW|GW|20240101120000||"), bad...)
		p = append(p, []byte("^A01|CTL|P|2.5\rPID|1")...)
		cases = append(cases, mllpCase{name: fmt.Sprintf("invalid UTF-8 sequence %d as MSH-9", i), payload: p, want: []string{"AE", "AR"}})
	}
	cases = append(cases,
		mllpCase{name: "empty frame", payload: nil, want: []string{"AE"}},
		mllpCase{name: "only carriage returns", payload: bytes.Repeat([]byte{'\r'}, 100), want: []string{"AE"}},
		mllpCase{name: "MSH without a field separator", payload: []byte("MSH"), want: []string{"AE"}},
		mllpCase{name: "empty MSH-9", payload: []byte("MSH|^~\\&|A|B|C|D|2020|||1|P|2.5"), want: []string{"AE"}},
		mllpCase{name: "MSH-9 of only a component separator", payload: []byte("MSH|^~\\&|A|B|C|D|2020||^|1|P|2.5"), want: []string{"AE"}},
		mllpCase{name: "lower-case segment name", payload: []byte("msh|^~\\&|A|B|C|D|2020||ADT^A01|1|P|2.5"), want: []string{"AE"}},
		mllpCase{name: "PID before MSH", payload: []byte("PID|1||123\rMSH|^~\\&|A|B|C|D|2020||ADT^A01|1|P|2.5"), want: []string{"AE"}},
		mllpCase{name: "huge MSH-9 within the frame limit (900 KiB)", payload: append([]byte("MSH|^~\\&|A|B|C|D|2020||"), bytes.Repeat([]byte("Z"), 900<<10)...), want: []string{"AE", "AR"}},
		mllpCase{name: "frame one byte over the 1 MiB limit is closed", payload: bytes.Repeat([]byte("A"), 1<<20+1), want: []string{closed}},
		mllpCase{name: "valid MSH followed by a 2 MiB segment is closed", payload: append([]byte("MSH|^~\\&|A|B|C|D|2020||ADT^A01|1|P|2.5\rNTE|1||"), bytes.Repeat([]byte("x"), 2<<20)...), want: []string{closed}},
		mllpCase{name: "8 MiB of random bytes is closed", payload: randomPayload(8 << 20), want: []string{closed}},
	)
	return cases
}

func randomPayload(n int) []byte {
	p := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(p)
	for i := range p {
		if p[i] == 0x1c || p[i] == 0x0b {
			p[i] = 0x7f
		}
	}
	return p
}

func TestMLLPBadInputGetsAnAnswer(t *testing.T) {
	cases := mllpCases(t)
	t.Logf("%d MLLP cases", len(cases))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ack, err := mllpRoundTrip(tc.payload)
			if tc.want[0] == closed {
				if !errors.Is(err, errClosed) {
					t.Fatalf("want the connection closed without an ACK, got ack %.200q err %v", ack, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("want an ACK with MSA-1 in %v: %v", tc.want, err)
			}
			code := msaCode(ack)
			for _, w := range tc.want {
				if code == w {
					return
				}
			}
			t.Fatalf("MSA-1 %q, want one of %v; ack %.400q", code, tc.want, ack)
		})
	}
	requireAlive(t)
}
