package hl7door

import (
	"bytes"
	"context"
	"github.com/hl7gw/gateway/hl7"
	"strconv"

	"github.com/hl7gw/gateway/pipeline"
)

// submitBatch takes an FHS/BHS batch as hl7.Units split it, submits each
// message on its own, in order, and answers with a batch of
// acknowledgements: the inbound file and batch headers with sender and
// receiver swapped and the inbound control id as reference
// (FHS-12/BHS-12), one ACK per message, and BTS/FTS counts.
// A batch that cannot be split is submitted whole, so that it fails in the
// parse stage and lands in the dead-letter queue like any unparseable
// message. Its answer is written in the terms of the first message whose
// MSH can be read (MSA-2 its MSH-10, sender and receiver swapped, its
// version and charset), so that the sender can tie it to what it sent.
func (d *Door) submitBatch(ctx context.Context, raw []byte, b hl7.Batch) Answer {
	if len(b.Messages) == 0 { // hl7.Units could not split it: one unit, raw
		m, out := d.submitOne(ctx, raw)
		if m == nil {
			m = firstMSH(raw)
		}
		ack, code := d.ack(m, raw, out)
		return Answer{ACK: ack, Code: code, Outcome: out}
	}
	var (
		acks  [][]byte
		code  string
		worst pipeline.Outcome
	)
	for _, msg := range b.Messages {
		m, out := d.submitOne(ctx, msg)
		if ack, c := d.ack(m, msg, out); len(ack) > 0 {
			acks = append(acks, ack)
			code = worseCode(code, c)
		}
		if worse(out, worst) {
			worst.Status, worst.Stage, worst.Reason, worst.Cause = out.Status, out.Stage, out.Reason, out.Cause
		}
		worst.Findings = append(worst.Findings, out.Findings...)
		worst.Deliveries = append(worst.Deliveries, out.Deliveries...)
	}
	return Answer{ACK: d.batchACK(b, acks), Code: code, Outcome: worst}
}

// worse orders outcomes for a batch summary: unavailable, refused, invalid,
// accepted.
func worse(a, b pipeline.Outcome) bool {
	rank := func(s pipeline.Status) int {
		switch s {
		case pipeline.Unavailable:
			return 4
		case pipeline.Refused:
			return 3
		case pipeline.Invalid:
			return 2
		case pipeline.Accepted:
			return 1
		}
		return 0
	}
	return rank(a.Status) > rank(b.Status)
}

// batchACK wraps the acknowledgements in the answering batch envelope.
func (d *Door) batchACK(b hl7.Batch, acks [][]byte) []byte {
	var out bytes.Buffer
	ts := d.now().Format("20060102150405")
	if b.FHS != nil {
		out.Write(replyHeader(b.FHS, ts, d.nextControlID()))
	}
	if b.BHS != nil {
		out.Write(replyHeader(b.BHS, ts, d.nextControlID()))
	}
	for _, a := range acks {
		out.Write(a)
	}
	sep := headerSep(b)
	if b.BHS != nil {
		out.WriteString("BTS")
		out.WriteByte(sep)
		out.WriteString(strconv.Itoa(len(acks)))
		out.WriteByte('\r')
	}
	if b.FHS != nil {
		out.WriteString("FTS")
		out.WriteByte(sep)
		out.WriteString("1")
		out.WriteByte('\r')
	}
	return out.Bytes()
}

func headerSep(b hl7.Batch) byte {
	for _, h := range [][]byte{b.FHS, b.BHS} {
		if len(h) > 3 {
			return h[3]
		}
	}
	return '|'
}

// replyHeader turns an inbound FHS or BHS segment into the reply's: fields
// 3/4 and 5/6 swapped, field 7 the reply time, field 11 a fresh control id
// and field 12 the inbound field 11. Fields 1 and 2 (separator and encoding
// characters) are kept byte for byte; a header that has none (a bare
// "BHS") is answered with the standard's, as headerSep does, so that the
// reply is still a batch.
func replyHeader(seg []byte, ts, controlID string) []byte {
	seg = bytes.TrimRight(seg, "\r\n")
	if len(seg) < 4 {
		seg = append(seg[:min(len(seg), 3):min(len(seg), 3)], `|^~\&`...)
	}
	sep := seg[3]
	// f[0] is the segment name, f[1] the encoding characters (field 2 in
	// the standard's numbering, since field 1 is the separator itself).
	f := bytes.Split(seg, []byte{sep})
	get := func(n int) []byte { // n in the standard's numbering, n >= 2
		if n-1 < len(f) {
			return f[n-1]
		}
		return nil
	}
	var out bytes.Buffer
	out.Write(f[0])
	fields := [][]byte{
		get(2), get(5), get(6), get(3), get(4), []byte(ts),
		get(8), get(9), nil, []byte(controlID), get(11),
	}
	for _, v := range fields {
		out.WriteByte(sep)
		out.Write(v)
	}
	out.WriteByte('\r')
	return out.Bytes()
}

// firstMSH is the first message header inside raw that parses (nil if
// none): the segment that starts raw or follows a segment terminator.
func firstMSH(raw []byte) *hl7.Message {
	for i := 0; i < len(raw); {
		j := bytes.Index(raw[i:], []byte("MSH"))
		if j < 0 {
			return nil
		}
		at := i + j
		if at == 0 || raw[at-1] == '\r' || raw[at-1] == '\n' {
			if m, err := hl7.ParseMSH(raw[at:]); err == nil {
				return m
			}
		}
		i = at + 3
	}
	return nil
}
