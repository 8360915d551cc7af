package v2fhir

import (
	"github.com/hl7gw/gateway/hl7"
)

// group is one order (ORC and/or OBR, or ORC and RXA) with its results.
// Its slices are reused from group to group and message to message.
type group struct {
	orc, obr, rxa, rxr int
	tq1                int
	spm                []int
	obx                []int
	notes              []int // NTE after the OBR (or ORC): the order's notes
	// The NTE after OBX k are obxNote[obxNoteAt[k]:obxNoteAt[k+1]] (to
	// the end for the last OBX): notes attach only to the last OBX seen,
	// so each OBX's notes are contiguous.
	obxNote   []int
	obxNoteAt []int
}

// groupScratch is the groups walk's state, kept in the pooled conv.
type groupScratch struct {
	g     group // the open group
	loose group // OBX (and their NTE) outside any order: patient observations
}

// reset empties g, keeping its slices' capacity.
func (g *group) reset() {
	*g = group{
		orc: -1, obr: -1, rxa: -1, rxr: -1, tq1: -1,
		spm: g.spm[:0], obx: g.obx[:0], notes: g.notes[:0], obxNote: g.obxNote[:0], obxNoteAt: g.obxNoteAt[:0],
	}
}

func (g *group) addOBX(i int) {
	g.obx = append(g.obx, i)
	g.obxNoteAt = append(g.obxNoteAt, len(g.obxNote))
}

// obxNotes are the NTE segments after the group's OBX k.
func (g *group) obxNotes(k int) []int {
	end := len(g.obxNote)
	if k+1 < len(g.obxNoteAt) {
		end = g.obxNoteAt[k+1]
	}
	return g.obxNote[g.obxNoteAt[k]:end]
}

func (g *group) empty() bool { return g.orc < 0 && g.obr < 0 && g.rxa < 0 }

// groups walks the order, result and immunization segments in message
// order: an ORC opens a group, and so does an OBR or RXA when the open
// group already has one. OBX belong to the open group (or, before any,
// to the patient), NTE to the OBX before them, else to the group.
func (c *conv) groups(x segIndex) error {
	if x.rest < 0 && (c.ev.structure == vxu || c.ev.structure == order) {
		if c.ev.structure == vxu {
			return errorf(codeRequiredMissing, "RXA", "an immunization message without RXA")
		}
		return errorf(codeRequiredMissing, "ORC", "an order message without ORC or OBR")
	}
	g, loose := &c.grp.g, &c.grp.loose
	g.reset()
	loose.reset()
	last := ""
	flush := func() error {
		if g.empty() {
			return nil
		}
		err := c.group(g)
		g.reset()
		return err
	}
	n := c.msg.NumSegments()
	for i := 1; i < n; i++ {
		raw := c.msg.SegmentAt(i).Raw()
		if len(raw) < 3 {
			continue
		}
		name := groupSegment(raw[:3])
		switch name {
		case "ORC":
			if err := flush(); err != nil {
				return err
			}
			g.orc = i
		case "OBR":
			if g.obr >= 0 || g.rxa >= 0 {
				if err := flush(); err != nil {
					return err
				}
			}
			g.obr = i
		case "RXA":
			if g.rxa >= 0 || g.obr >= 0 {
				if err := flush(); err != nil {
					return err
				}
			}
			g.rxa = i
		case "TQ1":
			if !g.empty() && g.tq1 < 0 {
				g.tq1 = i
			}
		case "SPM":
			if !g.empty() {
				g.spm = append(g.spm, i)
			}
		case "RXR":
			if g.rxa >= 0 && g.rxr < 0 {
				g.rxr = i
			}
		case "OBX":
			if g.empty() {
				loose.addOBX(i)
			} else {
				g.addOBX(i)
			}
		case "NTE":
			switch {
			case last == "OBX" || last == "NTE" && g.empty() && len(loose.obx) > 0 || last == "NTE" && len(g.obx) > 0:
				if g.empty() {
					loose.obxNote = append(loose.obxNote, i)
				} else {
					g.obxNote = append(g.obxNote, i)
				}
			case !g.empty():
				g.notes = append(g.notes, i)
			}
		default:
			name = last // other segments do not change where an NTE belongs
		}
		last = name
	}
	if err := flush(); err != nil {
		return err
	}
	for k, i := range loose.obx {
		if _, err := c.observation(i, loose.obxNotes(k), nil); err != nil {
			return err
		}
	}
	return nil
}

// groupSegment is the name of a segment the groups walk tells apart
// ("" for the others), a constant: converting the bytes would allocate.
func groupSegment(id []byte) string {
	switch string(id) {
	case "ORC":
		return "ORC"
	case "OBR":
		return "OBR"
	case "RXA":
		return "RXA"
	case "TQ1":
		return "TQ1"
	case "SPM":
		return "SPM"
	case "RXR":
		return "RXR"
	case "OBX":
		return "OBX"
	case "NTE":
		return "NTE"
	}
	return ""
}

// orderIDs are the placer and filler numbers of an order group.
type orderIDs struct {
	placer, filler     hl7.Rep
	placerKey, fillKey string
}

func (c *conv) orderIDs(orc, obr *[64]hl7.Field) orderIDs {
	var o orderIDs
	pick := func(a, b int) (hl7.Rep, string) {
		if obr != nil {
			if r := first(obr[a]); c.valued(r, 1) {
				return r, c.eiKey(r)
			}
		}
		if orc != nil {
			if r := first(orc[b]); c.valued(r, 1) {
				return r, c.eiKey(r)
			}
		}
		return hl7.Rep{}, ""
	}
	o.placer, o.placerKey = pick(2, 2)
	o.filler, o.fillKey = pick(3, 3)
	return o
}

// orderIdentifiers writes the identifier array of an order's request
// (ServiceRequest, Immunization): the placer number (PLAC), then the
// filler number (FILL), each when the order has one.
func (c *conv) orderIdentifiers(w *jw, ids orderIDs) {
	idents := w.arr("identifier")
	if ids.placerKey != "" {
		c.ei(w, ids.placer, "PLAC")
	}
	if ids.fillKey != "" {
		c.ei(w, ids.filler, "FILL")
	}
	w.end(idents, ']')
}

// group converts one order group.
func (c *conv) group(g *group) error {
	var orc, obr [64]hl7.Field
	var orcP, obrP *[64]hl7.Field
	if g.orc >= 0 {
		c.segCopy(g.orc, &orc)
		orcP = &orc
	}
	if g.obr >= 0 {
		c.segCopy(g.obr, &obr)
		obrP = &obr
	}
	if g.rxa >= 0 {
		return c.immunization(g, orcP)
	}
	ids := c.orderIDs(orcP, obrP)
	// The ServiceRequest: for orders always; for results also without an
	// ORC (the IG's ORU map has it only "IF ORC VALUED"; LinuxForHealth's
	// converter makes it from the OBR alone, and the OBR's placer, filler,
	// code and requester have no other home).
	srID := ""
	if c.ev.structure == order || orcP != nil || obrP != nil {
		srID = c.serviceRequestID(ids, obrP, g)
	}
	drID := ""
	if c.ev.structure == oru && obrP != nil {
		key := ids.fillKey
		if key == "" {
			key = ids.placerKey
		}
		if key == "" {
			key = "message^" + c.msg.Header().ControlID + "^" + itoa(g.obr)
		}
		drID = c.unique("DiagnosticReport", c.id("DiagnosticReport", key))
	}
	eff := ""
	if obrP != nil {
		eff = c.dtmQuiet(obr[7].Raw())
	}
	scope := ids.fillKey + "|" + ids.placerKey
	if scope == "|" {
		scope = srID + drID
	}
	specIDs := c.specIDs[:0]
	for _, i := range g.spm {
		specIDs = append(specIDs, c.specimen(i, scope, srID))
	}
	c.specIDs = specIDs
	firstSpec := ""
	if len(specIDs) > 0 {
		firstSpec = specIDs[0]
	}
	obsIDs := c.obsIDs[:0]
	for k, i := range g.obx {
		id, err := c.observation(i, g.obxNotes(k), &obsLink{scope: scope, srID: srID, drID: drID, effective: eff, specimen: firstSpec})
		if err != nil {
			return err
		}
		obsIDs = append(obsIDs, id)
	}
	c.obsIDs = obsIDs
	if srID != "" {
		if err := c.serviceRequest(srID, ids, orcP, obrP, g, obsIDs, specIDs); err != nil {
			return err
		}
	}
	if drID != "" {
		return c.diagnosticReport(drID, ids, obrP, g, srID, obsIDs, specIDs)
	}
	return nil
}

func (c *conv) serviceRequestID(ids orderIDs, obr *[64]hl7.Field, g *group) string {
	key := ids.placerKey
	if key == "" {
		key = ids.fillKey
	}
	if key == "" {
		code := ""
		if obr != nil {
			code = c.cps(first(obr[4]), 1)
		}
		key = "message^" + c.msg.Header().ControlID + "^" + code + "^" + itoa(max(g.orc, g.obr))
	}
	return c.unique("ServiceRequest", c.id("ServiceRequest", key))
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	neg := i < 0
	if neg {
		i = -i
	}
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}
