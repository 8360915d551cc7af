package hl7

import "strings"

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

// Header decodes the MSH. It allocates one string that all decoded fields
// share; call it once per message.
func (m *Message) Header() Header {
	msh := m.MSH()
	d := m.delims
	first := func(n int) []byte { return msh.Field(n).Rep(1).Component(1).Raw() }
	mt := msh.Field(9).Rep(1)
	raws := [...][]byte{
		first(3), first(4), first(5), first(6),
		mt.Component(1).Raw(), mt.Component(2).Raw(), mt.Component(3).Raw(),
		msh.Field(10).Raw(),
		first(11), first(12),
		msh.Field(15).Raw(), msh.Field(16).Raw(),
		msh.Field(18).Rep(1).Raw(),
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
		SendingAppRaw:        msh.Field(3).Raw(),
		SendingFacilityRaw:   msh.Field(4).Raw(),
		ReceivingAppRaw:      msh.Field(5).Raw(),
		ReceivingFacilityRaw: msh.Field(6).Raw(),
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
