package v2fhir

import (
	"github.com/hl7gw/gateway/hl7"
)

// priorities maps TQ-6 / OBR-5 priority codes to ServiceRequest.priority.
var priorities = map[string]string{"S": "stat", "A": "asap", "R": "routine", "P": "urgent", "C": "urgent", "T": "urgent"}

// serviceRequest converts ORC and OBR to a ServiceRequest. An ORC-1 of NW
// (new order) creates it; any other order control updates it.
func (c *conv) serviceRequest(id string, ids orderIDs, orc, obr *[64]hl7.Field, g *group, obs, specimens []string) error {
	op := Updated
	control, orderStatus := "", ""
	if orc != nil {
		control, orderStatus = c.cps(first(orc[1]), 1), c.cps(first(orc[5]), 1)
		if control == "NW" && c.ev.structure == order {
			op = Created
		}
	} else if c.ev.structure == order {
		op = Created
	}
	// occurrence: the requested time (OBR-6), else the observation time
	// (OBR-7), the order's effective time (ORC-15), the quantity/timing
	// start (OBR-27.4, ORC-7.4) or TQ1-7, the first valued.
	var occurrence, authored string
	if obr != nil {
		occurrence = c.dtm(obr[6].Raw(), at{"OBR", g.obr, 6})
		if occurrence == "" {
			occurrence = c.dtm(obr[7].Raw(), at{"OBR", g.obr, 7})
		}
	}
	if occurrence == "" && orc != nil {
		occurrence = c.dtm(orc[15].Raw(), at{"ORC", g.orc, 15})
	}
	if occurrence == "" && obr != nil {
		occurrence = c.dtm(c.comp(first(obr[27]), 4), at{"OBR", g.obr, 27})
	}
	if occurrence == "" && orc != nil {
		occurrence = c.dtm(c.comp(first(orc[7]), 4), at{"ORC", g.orc, 7})
	}
	if occurrence == "" && g.tq1 >= 0 {
		occurrence = c.dtm(c.field(g.tq1, 7).Raw(), at{"TQ1", g.tq1, 7})
	}
	if orc != nil {
		authored = c.dtm(orc[9].Raw(), at{"ORC", g.orc, 9})
	}
	requester := ""
	if orc != nil {
		requester = c.practitioner(first(orc[12]))
	}
	if requester == "" && obr != nil {
		requester = c.practitioner(first(obr[16]))
	}

	w := &c.w
	s := c.begin(w, "ServiceRequest", id)
	c.orderIdentifiers(w, ids)
	switch {
	case orderStatus != "":
		c.code(w, "status", orderStatus, "0038", vocabOrderStatus, "unknown")
	case control != "":
		c.code(w, "status", control, "0119", vocabOrderControlCodeRequestStatus, "unknown")
	default:
		w.str("status", "unknown")
	}
	w.str("intent", "order")
	prio := ""
	if obr != nil {
		prio = c.cps(first(obr[5]), 1)
	}
	if prio == "" && orc != nil {
		prio = c.cps(first(orc[7]), 6)
	}
	w.str("priority", priorities[prio])
	if obr != nil && (c.valued(first(obr[4]), 1) || c.valued(first(obr[4]), 2)) {
		c.cwe(w, "code", first(obr[4]), "", nil)
	}
	c.subject(w, "subject")
	if c.encID != "" {
		w.reference("encounter", "Encounter", c.encID)
	}
	w.str("occurrenceDateTime", occurrence)
	w.str("authoredOn", authored)
	if requester != "" {
		w.reference("requester", "Practitioner", requester)
	}
	if obr != nil {
		rc := w.arr("reasonCode")
		reps(obr[31], func(r hl7.Rep) {
			c.cwe(w, "", r, "", nil)
		})
		w.end(rc, ']')
	}
	sp := w.arr("specimen")
	for _, s := range specimens {
		w.refElem("Specimen", s)
	}
	w.end(sp, ']')
	if c.ev.structure == order {
		si := w.arr("supportingInfo")
		for _, o := range obs {
			w.refElem("Observation", o)
		}
		w.end(si, ']')
	}
	c.notes(w, g.notes)
	c.finish(w, s, "ServiceRequest", id, op, true)
	return nil
}

// diagnosticReport converts an ORU's OBR to a DiagnosticReport with its
// Observations as results. It is created unless OBR-25 says the report
// is a correction (C) or cancelled (X): then updated.
func (c *conv) diagnosticReport(id string, ids orderIDs, obr *[64]hl7.Field, g *group, srID string, obs, specimens []string) error {
	status := c.cps(first(obr[25]), 1)
	op := Created
	if status == "C" || status == "X" {
		op = Updated
	}
	eff := c.dtm(obr[7].Raw(), at{"OBR", g.obr, 7})
	effEnd := c.dtm(obr[8].Raw(), at{"OBR", g.obr, 8})
	var issued string
	if p, ok := c.parseTime(obr[22].Raw(), at{"OBR", g.obr, 22}); ok {
		issued = c.instant(p)
	}
	w := &c.w
	s := c.begin(w, "DiagnosticReport", id)
	idents := w.arr("identifier")
	if ids.fillKey != "" {
		c.ei(w, ids.filler, "FILL")
	}
	if ids.placerKey != "" {
		c.ei(w, ids.placer, "PLAC")
	}
	w.end(idents, ']')
	if srID != "" {
		b := w.arr("basedOn")
		w.refElem("ServiceRequest", srID)
		w.end(b, ']')
	}
	if status == "" {
		w.str("status", "unknown")
	} else {
		c.code(w, "status", status, "0123", vocabResultStatusReport, "unknown")
	}
	cat := w.arr("category")
	c.cwe(w, "", first(obr[24]), "0074", nil)
	w.end(cat, ']')
	if !c.cwe(w, "code", first(obr[4]), "", nil) {
		absent(w, "code") // DiagnosticReport.code is required
	}
	c.subject(w, "subject")
	if c.encID != "" {
		w.reference("encounter", "Encounter", c.encID)
	}
	if effEnd != "" {
		m := w.obj("effectivePeriod")
		w.str("start", eff)
		w.str("end", effEnd)
		w.end(m, '}')
	} else {
		w.str("effectiveDateTime", eff)
	}
	w.str("issued", issued)
	sp := w.arr("specimen")
	for _, s := range specimens {
		w.refElem("Specimen", s)
	}
	w.end(sp, ']')
	res := w.arr("result")
	for _, o := range obs {
		w.refElem("Observation", o)
	}
	w.end(res, ']')
	c.finish(w, s, "DiagnosticReport", id, op, true)
	return nil
}
