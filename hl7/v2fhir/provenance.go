package v2fhir

import (
	"strconv"
	"time"

	"github.com/hl7gw/gateway/hl7"
)

// at is an HL7 location: segment name, its index in the message and a
// field. String, only called on failures, numbers repeated segments
// ("OBX(3)-5").
type at struct {
	seg   string
	i     int
	field int
}

func (a at) String(c *conv) string {
	occ := 0
	for k := 0; k <= a.i && k < c.msg.NumSegments(); k++ {
		raw := c.msg.SegmentAt(k).Raw()
		if len(raw) >= 3 && string(raw[:3]) == a.seg {
			occ++
		}
	}
	s := a.seg
	if occ > 1 {
		s += "(" + strconv.Itoa(occ) + ")"
	}
	return s + "-" + strconv.Itoa(a.field)
}

// provenance writes the message's Provenance: every resource as its
// target, recorded from MSH-7 (the clock when MSH-7 has no time of day),
// the trigger event as its activity, the sending facility (MSH-4, else
// the application MSH-3) as its author and the message (control id MSH-10)
// as its source entity.
func (c *conv) provenance(msh hl7.Segment) error {
	if len(c.entries) == 0 {
		return nil // nothing converted: no Provenance (its target is required)
	}
	h := c.msg.Header()
	var f [19]hl7.Field
	msh.SplitFields(f[1:])
	sent := c.str(firstComponent(f[7].Raw(), c.d.Component))
	// A malformed MSH-7 does not fail the message: the Provenance is the
	// gateway's record, recorded then by its clock.
	var recorded string
	if p, ok := parseDTM(sent); ok {
		recorded = c.instant(p)
	}
	if recorded == "" {
		now := time.Now
		if c.opt.Now != nil {
			now = c.opt.Now
		}
		recorded = now().In(c.zone).Format("2006-01-02T15:04:05Z07:00")
	}
	id := c.id("Provenance", h.ControlID, sent)
	w := &c.w
	s := c.begin(w, "Provenance", id)
	t := w.arr("target")
	for _, e := range c.entries {
		w.refElem(e.Type, e.ID)
	}
	w.end(t, ']')
	if x := c.ix.evn; x >= 0 { // the index run made, not a second pass
		occurred := c.dtm(c.field(x, 6).Raw(), at{"EVN", x, 6})
		w.str("occurredDateTime", occurred)
	}
	w.str("recorded", recorded)
	if h.TriggerEvent != "" {
		a := w.obj("activity")
		ca := w.arr("coding")
		c.coding(w, v2System("0003", h.TriggerEvent), []byte(h.TriggerEvent), nil)
		w.end(ca, ']')
		w.end(a, '}')
	}
	who := first(f[4])
	if !c.valued(who, 1) && !c.valued(who, 2) {
		who = first(f[3])
	}
	ag := w.arr("agent")
	m := w.obj("")
	typ := w.obj("type")
	ca := w.arr("coding")
	c.coding(w, "http://terminology.hl7.org/CodeSystem/provenance-participant-type", []byte("author"), []byte("Author"))
	w.end(ca, ']')
	w.end(typ, '}')
	wm := w.obj("who")
	hd := c.hdOf(who)
	if hd.uid != "" || hd.ns != "" {
		im := w.obj("identifier")
		if hd.uid != "" {
			w.str("system", c.hdSystem(hd))
			w.str("value", hd.uid)
		} else {
			w.str("value", hd.ns)
		}
		w.end(im, '}')
	}
	w.str("display", hdName(c, who))
	if !w.end(wm, '}') {
		m2 := w.obj("who")
		w.str("display", "unknown sender")
		w.end(m2, '}')
	}
	w.end(m, '}')
	w.end(ag, ']')
	en := w.arr("entity")
	e := w.obj("")
	w.str("role", "source")
	what := w.obj("what")
	if h.ControlID != "" {
		im := w.obj("identifier")
		w.str("value", h.ControlID)
		w.end(im, '}')
	}
	w.str("display", "HL7 v2 "+h.MessageType+"^"+h.TriggerEvent+" from "+h.SendingApp)
	w.end(what, '}')
	w.end(e, '}')
	w.end(en, ']')
	c.finish(w, s, "Provenance", id, Created, false)
	return nil
}
