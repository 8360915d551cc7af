package v2fhir

import (
	"github.com/hl7gw/gateway/hl7"
)

// immunization converts a VXU order group (ORC, RXA, RXR and its OBX) to
// an Immunization and Observations. Its id comes from the filler order
// number (ORC-3), else the placer's (ORC-2), else the Patient, the
// administration time (RXA-3) and the vaccine (RXA-5). RXA-21 "A" (or
// empty) creates it; "U" updates it; "D" updates it to entered-in-error.
func (c *conv) immunization(g *group, orc *[64]hl7.Field) error {
	var f [64]hl7.Field
	c.segCopy(g.rxa, &f)
	ids := c.orderIDs(orc, nil)
	key := ids.fillKey
	if key == "" {
		key = ids.placerKey
	}
	if key == "" {
		key = c.patientID + "^" + c.str(firstComponent(f[3].Raw(), c.d.Component)) + "^" + c.cps(first(f[5]), 1) + "^" + c.cps(first(f[5]), 3)
	}
	id := c.unique("Immunization", c.id("Immunization", key))
	when := c.dtm(f[3].Raw(), at{"RXA", g.rxa, 3})
	if when == "" {
		return errorf(codeRequiredMissing, at{"RXA", g.rxa, 3}.String(c), "administration date/time missing or not a date/time")
	}
	if !c.valued(first(f[5]), 1) && !c.valued(first(f[5]), 2) {
		return errorf(codeRequiredMissing, at{"RXA", g.rxa, 5}.String(c), "administered code missing")
	}
	action := c.cps(first(f[21]), 1)
	op := Created
	if action == "U" || action == "D" {
		op = Updated
	}
	var expiry string
	if p, ok := c.parseTime(f[16].Raw(), at{"RXA", g.rxa, 16}); ok {
		expiry = c.date(p)
	}
	administrator := c.practitioner(first(f[10]))
	orderer := ""
	if orc != nil {
		orderer = c.practitioner(first(orc[12]))
	}
	manufacturer := c.organizationCWE(first(f[17]))

	w := &c.w
	s := c.begin(w, "Immunization", id)
	c.orderIdentifiers(w, ids)
	switch {
	case action == "D":
		w.str("status", "entered-in-error")
	case c.valued(first(f[20]), 1):
		c.code(w, "status", c.cps(first(f[20]), 1), "0322", vocabCompletionStatus, "completed")
	default:
		w.str("status", "completed")
	}
	c.cwe(w, "statusReason", first(f[18]), "", nil)
	c.cwe(w, "vaccineCode", first(f[5]), "", nil)
	c.subject(w, "patient")
	if c.encID != "" {
		w.reference("encounter", "Encounter", c.encID)
	}
	w.str("occurrenceDateTime", when)
	if manufacturer != "" {
		w.reference("manufacturer", "Organization", manufacturer)
	}
	w.str("lotNumber", c.cps(first(f[15]), 1))
	w.str("expirationDate", expiry)
	if g.rxr >= 0 {
		var r [64]hl7.Field
		c.segCopy(g.rxr, &r)
		c.cwe(w, "site", first(r[2]), "0163", nil)
		c.cwe(w, "route", first(r[1]), "0162", nil)
	}
	if amount, ok := decimal(c.cps(first(f[6]), 1)); ok && amount != "999" {
		c.quantity(w, "doseQuantity", amount, "", first(f[7]))
	}
	perf := w.arr("performer")
	c.performer(w, administrator, "AP", "Administering Provider")
	c.performer(w, orderer, "OP", "Ordering Provider")
	w.end(perf, ']')
	rc := w.arr("reasonCode")
	reps(f[19], func(r hl7.Rep) {
		c.cwe(w, "", r, "", nil)
	})
	w.end(rc, ']')
	c.finish(w, s, "Immunization", id, op, true)

	for k, i := range g.obx {
		if _, err := c.observation(i, g.obxNotes(k), &obsLink{scope: id, immID: id}); err != nil {
			return err
		}
	}
	return nil
}

// performer writes an Immunization.performer with its v2-0443 function.
func (c *conv) performer(w *jw, practitioner, function, display string) {
	if practitioner == "" {
		return
	}
	m := w.obj("")
	fn := w.obj("function")
	a := w.arr("coding")
	c.coding(w, tableSystem("0443"), []byte(function), []byte(display))
	w.end(a, ']')
	w.end(fn, '}')
	w.reference("actor", "Practitioner", practitioner)
	w.end(m, '}')
}
