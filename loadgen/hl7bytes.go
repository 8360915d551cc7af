package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// This file holds the little HL7 byte work the load generator needs: where
// MSH-10 sits in a message (to rewrite it) and MSA-1 of an answer. It is
// deliberately minimal and independent of the gateway's HL7 parser.

// errNoControlID is returned for a message without an MSH-10 field.
var errNoControlID = errors.New("loadgen: message has no MSH segment with an MSH-10 field")

// template is a message with the positions of its MSH-10 values, so a copy
// with other control ids is built by appending the parts between them.
type template struct {
	msg      []byte
	spans    [][2]int // [start, end) of each MSH-10 value, in order
	original string   // the first MSH-10 value as sent
	delims   []byte   // segment terminators, field separators and MSH-2 characters
}

// idAlphabet is every byte a generated control id may contain besides the
// prefix.
const idAlphabet = "-.0123456789"

// clashes reports whether a control id made of prefix and idAlphabet could
// contain one of the message's delimiters (which would corrupt it).
func (t template) clashes(prefix string) bool {
	return bytes.ContainsAny(t.delims, prefix+idAlphabet)
}

// isSegmentStart reports whether a segment may start at i.
func isSegmentStart(b []byte, i int) bool {
	return i == 0 || b[i-1] == '\r' || b[i-1] == '\n'
}

// segmentEnd returns the index of the segment terminator at or after i.
func segmentEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		if b[i] == '\r' || b[i] == '\n' {
			return i
		}
	}
	return len(b)
}

// field returns the [start, end) span of field n (n >= 1) of the segment
// starting at seg, whose field separator is the byte at seg+3. For MSH, n is
// the HL7 field number minus one (MSH-1 is the separator itself).
func field(b []byte, seg, n int) (start, end int, ok bool) {
	if seg+3 >= len(b) {
		return 0, 0, false
	}
	sep, stop := b[seg+3], segmentEnd(b, seg)
	i, seen := seg+3, 0
	for ; i < stop; i++ {
		if b[i] == sep {
			seen++
			if seen == n {
				break
			}
		}
	}
	if seen < n {
		return 0, 0, false
	}
	start = i + 1
	end = start
	for end < stop && b[end] != sep {
		end++
	}
	return start, end, true
}

// newTemplate finds every MSH-10 in msg (one per message of a batch).
func newTemplate(msg []byte) (template, error) {
	t := template{msg: msg, delims: []byte("\r\n")}
	for i := 0; i+3 < len(msg); i++ {
		if msg[i] != 'M' || msg[i+1] != 'S' || msg[i+2] != 'H' || !isSegmentStart(msg, i) {
			continue
		}
		t.delims = append(t.delims, msg[i+3])
		if s, e, ok := field(msg, i, 1); ok { // MSH-2, the encoding characters
			t.delims = append(t.delims, msg[s:e]...)
		}
		start, end, ok := field(msg, i, 9) // MSH-10
		if !ok {
			continue
		}
		if len(t.spans) == 0 {
			t.original = string(msg[start:end])
		}
		t.spans = append(t.spans, [2]int{start, end})
		i = end
	}
	if len(t.spans) == 0 {
		return t, errNoControlID
	}
	return t, nil
}

// render appends msg to dst with MSH-10 replaced by id; further MSH
// segments of a batch get id + "." + k (k = 1, 2, ...). Everything else is
// byte-identical.
func (t template) render(dst []byte, id string) []byte {
	last := 0
	for k, sp := range t.spans {
		dst = append(dst, t.msg[last:sp[0]]...)
		dst = append(dst, id...)
		if k > 0 {
			dst = append(dst, '.')
			dst = strconv.AppendInt(dst, int64(k), 10)
		}
		last = sp[1]
	}
	return append(dst, t.msg[last:]...)
}

// CodeUnreadable is the ackCode of an answer without a readable MSA-1.
const CodeUnreadable = "?"

// ackCode returns MSA-1 of an HL7 acknowledgement ("AA", "AE", "AR", "CA",
// "CE", "CR"), or CodeUnreadable when there is no MSA segment or MSA-1 is
// not two upper-case letters (which also bounds the codes a server can make
// the report count). The field separator is the answer's MSH-1 when it
// starts with MSH, else the byte after "MSA".
func ackCode(ack []byte) string {
	var sep byte
	if len(ack) > 3 && string(ack[:3]) == "MSH" {
		sep = ack[3]
	}
	for i := 0; i+3 < len(ack); i++ {
		if ack[i] != 'M' || ack[i+1] != 'S' || ack[i+2] != 'A' || !isSegmentStart(ack, i) {
			continue
		}
		if sep != 0 && ack[i+3] != sep {
			return CodeUnreadable
		}
		start, end, ok := field(ack, i, 1)
		if !ok || end-start != 2 || !upper(ack[start]) || !upper(ack[start+1]) {
			return CodeUnreadable
		}
		return string(ack[start:end])
	}
	return CodeUnreadable
}

func upper(c byte) bool { return c >= 'A' && c <= 'Z' }

// controlID formats the control id of the seq-th message of connection conn.
func controlID(prefix string, conn, seq int) string {
	return fmt.Sprintf("%s-%d-%d", prefix, conn, seq)
}

// AckMode is what a message's MSH-15 (accept acknowledgement type, HL7
// table 0155) promises about its answer.
type AckMode uint8

// The accept acknowledgement types.
const (
	AckAlways    AckMode = iota // AL, empty, unknown, or a batch: an answer always comes
	AckNever                    // NE: no answer comes
	AckOnError                  // ER: an answer comes only when the message failed
	AckOnSuccess                // SU: an answer comes only when the message was accepted
)

// String returns the table 0155 code ("AL" for AckAlways).
func (m AckMode) String() string {
	return [...]string{"AL", "NE", "ER", "SU"}[m]
}

// ModeOf reads MSH-15 of msg's first MSH. A batch (a first line starting
// with FHS or BHS) is always answered, whatever its messages ask, so it is
// AckAlways.
func ModeOf(msg []byte) AckMode {
	i := 0
	for i < len(msg) && (msg[i] == '\r' || msg[i] == '\n') {
		i++
	}
	if rest := msg[i:]; bytes.HasPrefix(rest, []byte("FHS")) || bytes.HasPrefix(rest, []byte("BHS")) {
		return AckAlways
	}
	for ; i+3 < len(msg); i++ {
		if msg[i] != 'M' || msg[i+1] != 'S' || msg[i+2] != 'H' || !isSegmentStart(msg, i) {
			continue
		}
		s, e, ok := field(msg, i, 14) // MSH-15
		if !ok {
			return AckAlways
		}
		switch string(bytes.ToUpper(bytes.TrimSpace(msg[s:e]))) {
		case "NE":
			return AckNever
		case "ER":
			return AckOnError
		case "SU":
			return AckOnSuccess
		}
		return AckAlways
	}
	return AckAlways
}

// CodeNone is the code of a batch answer holding no MSA (every message of
// the batch asked for no acknowledgement in its case).
const CodeNone = "none"

// answerOf reads an answer: its code (MSA-1; for a batch the first MSA-1
// that is not AA/CA, else the first, else CodeNone), MSA-2 of its first
// MSA (the control id answered; empty for a batch) and whether it is a
// batch. Codes are bounded as in ackCode.
func answerOf(ans []byte) (code, ref string, batch bool) {
	batch = bytes.HasPrefix(ans, []byte("FHS")) || bytes.HasPrefix(ans, []byte("BHS"))
	if !batch {
		code = ackCode(ans)
		for i := 0; i+3 < len(ans); i++ {
			if ans[i] == 'M' && ans[i+1] == 'S' && ans[i+2] == 'A' && isSegmentStart(ans, i) {
				if s, e, ok := field(ans, i, 2); ok {
					ref = string(ans[s:e])
				}
				break
			}
		}
		return code, ref, false
	}
	for i := 0; i+3 < len(ans); i++ {
		if ans[i] != 'M' || ans[i+1] != 'S' || ans[i+2] != 'A' || !isSegmentStart(ans, i) {
			continue
		}
		c := ackCode(ans[i:])
		if code == "" {
			code = c
		}
		if c != "AA" && c != "CA" {
			return c, "", true
		}
	}
	if code == "" {
		code = CodeNone
	}
	return code, "", true
}

// ControlIDOf returns MSH-10 of msg's first MSH, or "" when it has none.
func ControlIDOf(msg []byte) string {
	t, _ := newTemplate(msg)
	return t.original
}
