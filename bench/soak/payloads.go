package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/router"
)

// payload is one message variant, split around its MSH-10 value so that a
// copy with another control id is head + id + tail.
type payload struct {
	head, tail []byte
	original   []byte // head + the template's control id + tail
	key        []byte // the gateway's partition key for it (router.HL7Key)
	topic      string // the gateway's topic for it, without prefix
}

// render appends the message with control id id to dst.
func (p payload) render(dst []byte, id string) []byte {
	dst = append(dst, p.head...)
	dst = append(dst, id...)
	return append(dst, p.tail...)
}

// buildPayloads reads the HL7 message at path and makes n variants that
// differ only in PID-3.1 (patient ids P0000000, P0000001, ...), so that the
// gateway's partition key (PID-3) spreads the load over the partitions as
// distinct patients would. All variants must route to the same topic.
func buildPayloads(path string, n int) ([]payload, error) {
	tmpl, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	if n < 1 {
		return nil, errors.New("need at least one patient")
	}
	out := make([]payload, 0, n)
	for k := range n {
		msg, err := withPatientID(tmpl, "P"+leftPad(k, 7))
		if err != nil {
			return nil, err
		}
		p, err := newPayload(msg)
		if err != nil {
			return nil, err
		}
		if len(out) > 0 && p.topic != out[0].topic {
			return nil, fmt.Errorf("variant %d routes to %s, not %s", k, p.topic, out[0].topic)
		}
		out = append(out, p)
	}
	return out, nil
}

// newPayload parses msg for its key and topic and splits it at MSH-10.
func newPayload(msg []byte) (payload, error) {
	m, err := hl7.Parse(msg)
	if err != nil {
		return payload{}, fmt.Errorf("parse template: %w", err)
	}
	meta := hl7door.Meta(m, "")
	topic, err := router.HL7Topic("", meta)
	if err != nil {
		return payload{}, fmt.Errorf("template topic: %w", err)
	}
	start, end, err := fieldSpan(msg, 0, 10)
	if err != nil {
		return payload{}, err
	}
	return payload{
		head:     msg[:start],
		tail:     msg[end:],
		original: msg,
		key:      []byte(router.HL7Key(meta)),
		topic:    topic,
	}, nil
}

// withPatientID returns a copy of msg with PID-3's first component
// replaced by id. It fails when msg has no PID-3.
func withPatientID(msg []byte, id string) ([]byte, error) {
	seg := bytes.Index(msg, []byte("\rPID"))
	if seg < 0 {
		return nil, errors.New("template has no PID segment")
	}
	start, end, err := fieldSpan(msg, seg+1, 3)
	if err != nil {
		return nil, err
	}
	if i := bytes.IndexByte(msg[start:end], '^'); i >= 0 {
		end = start + i
	}
	out := make([]byte, 0, len(msg)+len(id))
	out = append(out, msg[:start]...)
	out = append(out, id...)
	return append(out, msg[end:]...), nil
}

// fieldSpan returns the [start, end) span of field n of the segment that
// starts at seg, counted as in HL7 (for MSH, n = 10 is MSH-10: MSH-1 is the
// separator itself). The separator is the byte after the segment name.
func fieldSpan(msg []byte, seg, n int) (start, end int, err error) {
	if seg+4 > len(msg) {
		return 0, 0, errors.New("segment too short")
	}
	sep := msg[seg+3]
	want := n
	if string(msg[seg:seg+3]) == "MSH" {
		want = n - 1
	}
	stop := seg + bytes.IndexAny(msg[seg:], "\r\n")
	if stop < seg {
		stop = len(msg)
	}
	seen := 0
	for i := seg + 3; i < stop; i++ {
		if msg[i] != sep {
			continue
		}
		seen++
		if seen == want {
			start = i + 1
			end = start
			for end < stop && msg[end] != sep {
				end++
			}
			return start, end, nil
		}
	}
	return 0, 0, fmt.Errorf("%s has no field %d", msg[seg:seg+3], n)
}

// leftPad formats k with at least width digits.
func leftPad(k, width int) string {
	s := strconv.Itoa(k)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
