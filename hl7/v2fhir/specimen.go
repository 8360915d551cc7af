package v2fhir

import (
	"github.com/hl7gw/gateway/hl7"
)

// specimen converts an SPM to a Specimen and returns its id: from the
// specimen id (SPM-2, placer^filler; a specimen several order groups
// name is written once, requested by the first), else the order group
// and the set id (SPM-1). Specimens are always updated: their details arrive over
// several orders and results.
func (c *conv) specimen(i int, scope, srID string) string {
	var f [64]hl7.Field
	c.segCopy(i, &f)
	sid := first(f[2])
	placer, filler := c.str(c.sub(sid, 1, 1)), c.str(c.sub(sid, 2, 1))
	var id string
	if placer != "" || filler != "" {
		id = c.id("Specimen", placer, c.str(c.sub(sid, 1, 2)), filler, c.str(c.sub(sid, 2, 2)))
		if c.has("Specimen", id) {
			return id // one specimen for several orders of the message: written once
		}
	} else {
		id = c.unique("Specimen", c.id("Specimen", "group", scope, c.cps(first(f[1]), 1)))
	}
	collected := c.dtm(c.comp(first(f[17]), 1), at{"SPM", i, 17})
	received := c.dtm(f[18].Raw(), at{"SPM", i, 18})

	w := &c.w
	s := c.begin(w, "Specimen", id)
	ids := w.arr("identifier")
	for _, e := range [...]struct {
		comp int
		typ  string
	}{{1, "PLAC"}, {2, "FILL"}} {
		v := trimB(c.txt(c.sub(sid, e.comp, 1)))
		if len(v) == 0 {
			continue
		}
		m := w.obj("")
		t := w.obj("type")
		ca := w.arr("coding")
		c.coding(w, tableSystem("0203"), []byte(e.typ), nil)
		w.end(ca, ']')
		w.end(t, '}')
		w.str("system", c.hdSystem(hd{c.str(c.sub(sid, e.comp, 2)), c.str(c.sub(sid, e.comp, 3)), c.str(c.sub(sid, e.comp, 4))}))
		w.strB("value", v)
		w.end(m, '}')
	}
	w.end(ids, ']')
	c.cwe(w, "type", first(f[4]), "0487", nil)
	c.subject(w, "subject")
	w.str("receivedTime", received)
	if srID != "" {
		r := w.arr("request")
		w.refElem("ServiceRequest", srID)
		w.end(r, ']')
	}
	col := w.obj("collection")
	w.str("collectedDateTime", collected)
	c.cwe(w, "method", first(f[7]), "0488", nil)
	c.cwe(w, "bodySite", first(f[8]), "0550", nil)
	w.end(col, '}')
	c.finish(w, s, "Specimen", id, Updated, true)
	return id
}
