package hl7

import (
	"bytes"
	"strings"
)

// Header gives the MSH fields that routing and acknowledgements need,
// already decoded. The *Raw fields are the MSH-3..6 fields as written
// (sub-slices of the message), for copying unchanged into an ACK.
type Header struct {
	SendingApp, SendingFacility, ReceivingApp, ReceivingFacility             string // MSH-3..6, first component
	SendingAppRaw, SendingFacilityRaw, ReceivingAppRaw, ReceivingFacilityRaw []byte // MSH-3..6 as written
	MessageType, TriggerEvent, Structure                                     string // MSH-9.1, .2, .3
	ControlID                                                                string // MSH-10 (whole field)
	ProcessingID                                                             string // MSH-11.1
	Version                                                                  string // MSH-12.1
	AcceptAckType, AppAckType                                                string // MSH-15, MSH-16
	Charset                                                                  string // MSH-18, first repetition
}

// Header returns the decoded MSH. The first call decodes it (one string
// shared by all decoded fields); later calls, from routing, the ACK and
// logs, return the same value. Safe for concurrent use.
func (m *Message) Header() Header {
	m.hdrOnce.Do(func() { m.hdr = m.decodeHeader() })
	return m.hdr
}

func (m *Message) decodeHeader() Header {
	d := m.delims
	fields := m.mshFields()
	first := func(n int) []byte {
		r := Field{raw: fields[n], d: d}
		return r.Rep(1).Component(1).Raw()
	}
	mt := Field{raw: fields[9], d: d}.Rep(1)
	// MSG components are plain codes: trailing subcomponent separators
	// ("A01&&") are insignificant in HL7 and must not reach topic names.
	code := func(n int) []byte { return bytes.TrimRight(mt.Component(n).Raw(), string(d.Subcomponent)) }
	raws := [...][]byte{
		first(3), first(4), first(5), first(6),
		code(1), code(2), code(3),
		fields[10],
		first(11), first(12),
		fields[15], fields[16],
		Field{raw: fields[18], d: d}.Rep(1).Raw(),
	}
	var b strings.Builder
	n := 0
	for _, r := range raws {
		n += len(r)
	}
	b.Grow(n)
	var ends [len(raws)]int
	for i, r := range raws {
		b.Write(Unescape(r, d))
		ends[i] = b.Len()
	}
	all := b.String()
	get := func(i int) string {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		return all[start:ends[i]]
	}
	return Header{
		SendingApp:           get(0),
		SendingFacility:      get(1),
		ReceivingApp:         get(2),
		ReceivingFacility:    get(3),
		SendingAppRaw:        fields[3],
		SendingFacilityRaw:   fields[4],
		ReceivingAppRaw:      fields[5],
		ReceivingFacilityRaw: fields[6],
		MessageType:          get(4),
		TriggerEvent:         get(5),
		Structure:            get(6),
		ControlID:            get(7),
		ProcessingID:         get(8),
		Version:              get(9),
		AcceptAckType:        get(10),
		AppAckType:           get(11),
		Charset:              get(12),
	}
}

// mshFields splits MSH-3 to MSH-18 in one pass; index i holds MSH-i (nil
// when absent), capacity clipped.
func (m *Message) mshFields() [19][]byte {
	var f [19][]byte
	for n := 3; n < len(f); n++ {
		s := m.mshf[n]
		f[n] = m.raw[s.start:s.end:s.end]
	}
	return f
}

// MSHFieldSpan returns the offsets in m.Raw() of MSH-n (n >= 3); start ==
// end when it is empty or absent. The HL7 door hashes a message without
// MSH-7 with it, to know a resend that carries a new time.
func (m *Message) MSHFieldSpan(n int) (start, end int) {
	seg := m.segs[0]
	raw := m.raw[:seg.end]
	sep := m.delims.Field
	field := 2 // the separator at seg.start+3 is MSH-1; MSH-2 follows it
	for i := int(seg.start) + 4; i < len(raw); i++ {
		if raw[i] != sep {
			continue
		}
		field++
		if field == n {
			start = i + 1
			end = start
			for end < len(raw) && raw[end] != sep {
				end++
			}
			return start, end
		}
	}
	return len(raw), len(raw)
}
