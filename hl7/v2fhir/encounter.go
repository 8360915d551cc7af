package v2fhir

import (
	"github.com/hl7gw/gateway/hl7"
)

// participantTypes are the PV1 XCN fields and their v3 ParticipationType.
var participantTypes = [...]struct {
	field         int
	code, display string
}{
	{7, "ATND", "attender"},
	{8, "REF", "referrer"},
	{9, "CON", "consultant"},
	{17, "ADM", "admitter"},
}

// encounterID is the Encounter's id: from the visit number PV1-19 (value
// and assigning authority); without one, from the Patient and the admit
// time PV1-44; without that, from the Patient and the message control id
// (then only this message names it).
func (c *conv) encounterID(f *[64]hl7.Field) string {
	vn := first(f[19])
	if v := c.cps(vn, 1); v != "" {
		return c.id("Encounter", "VN", v, c.hdKey(c.hdSub(vn, 4)))
	}
	if t := c.str(firstComponent(f[44].Raw(), c.d.Component)); t != "" {
		return c.id("Encounter", "admit", c.patientID, t)
	}
	return c.id("Encounter", "message", c.patientID, c.msg.Header().ControlID)
}

// encounter converts PV1 (f, split) and PV2 to the Encounter.
func (c *conv) encounter(x segIndex, f *[64]hl7.Field) error {
	c.encID = c.encounterID(f)
	start := c.dtm(f[44].Raw(), at{"PV1", x.pv1, 44})
	end := c.dtm(f[45].Raw(), at{"PV1", x.pv1, 45})
	class := c.cps(first(f[2]), 1)
	status := c.ev.encounterStatus
	switch {
	case status != "":
	case end != "":
		status = "finished"
	case class == "P":
		status = "planned"
	default:
		status = "in-progress"
	}

	w := &c.w
	s := c.begin(w, "Encounter", c.encID)
	ids := w.arr("identifier")
	reps(f[19], func(r hl7.Rep) { c.cx(w, r, "VN") })
	reps(f[50], func(r hl7.Rep) { c.cx(w, r, "") })
	w.end(ids, ']')
	w.str("status", status)
	if class != "" {
		c.cweCoding(w, "class", first(f[2]), "0004", vocabPatientClassEncounterClass)
	} else { // Encounter.class is required
		m := w.obj("class")
		w.str("system", "http://terminology.hl7.org/CodeSystem/v3-NullFlavor")
		w.str("code", "UNK")
		w.str("display", "unknown")
		w.end(m, '}')
	}
	types := w.arr("type")
	c.cwe(w, "", first(f[4]), "0007", nil)
	w.end(types, ']')
	c.cwe(w, "serviceType", first(f[10]), "0069", nil)
	c.subject(w, "subject")

	parts := w.arr("participant")
	for _, p := range participantTypes {
		reps(f[p.field], func(r hl7.Rep) {
			id := c.practitioner(r)
			if id == "" {
				return
			}
			m := w.obj("")
			t := w.arr("type")
			tm := w.obj("")
			ca := w.arr("coding")
			c.coding(w, "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", []byte(p.code), []byte(p.display))
			w.end(ca, ']')
			w.end(tm, '}')
			w.end(t, ']')
			w.reference("individual", "Practitioner", id)
			w.end(m, '}')
		})
	}
	w.end(parts, ']')

	if start != "" || end != "" {
		m := w.obj("period")
		w.str("start", start)
		w.str("end", end)
		w.end(m, '}')
	}
	if x.pv2 >= 0 {
		reason := first(c.field(x.pv2, 3))
		rc := w.arr("reasonCode")
		if c.valued(reason, 1) || c.valued(reason, 2) {
			c.cwe(w, "", reason, "", nil)
		}
		w.end(rc, ']')
	}

	diag := w.arr("diagnosis")
	for _, i := range x.dg1 {
		var d [64]hl7.Field
		c.segCopy(i, &d)
		id := c.conditionID(&d)
		if id == "" {
			continue
		}
		m := w.obj("")
		w.reference("condition", "Condition", id)
		c.cwe(w, "use", first(d[6]), "0052", vocabDiagnosisType)
		w.end(m, '}')
	}
	w.end(diag, ']')

	h := w.obj("hospitalization")
	if pre := first(f[5]); c.valued(pre, 1) {
		before := len(w.b)
		w.key("preAdmissionIdentifier")
		mark := len(w.b)
		c.cx(w, pre, "")
		if len(w.b) == mark {
			w.b = w.b[:before]
		}
	}
	c.cwe(w, "admitSource", first(f[14]), "0023", nil)
	c.cwe(w, "reAdmission", first(f[13]), "0092", nil)
	dp := w.arr("dietPreference")
	c.cwe(w, "", first(f[38]), "0114", nil)
	w.end(dp, ']')
	sc := w.arr("specialCourtesy")
	c.cwe(w, "", first(f[16]), "0099", nil)
	w.end(sc, ']')
	sa := w.arr("specialArrangement")
	reps(f[15], func(r hl7.Rep) {
		c.cwe(w, "", r, "0009", nil)
	})
	w.end(sa, ']')
	c.cwe(w, "dischargeDisposition", first(f[36]), "0112", nil)
	w.end(h, '}')

	locs := w.arr("location")
	current := "active"
	if class == "P" || status == "planned" {
		current = "planned"
	}
	if status == "finished" {
		current = "completed"
	}
	c.encounterLocation(w, first(f[3]), current)
	c.encounterLocation(w, first(f[6]), "completed")
	c.encounterLocation(w, first(f[11]), "active")
	c.encounterLocation(w, first(f[42]), "planned")
	w.end(locs, ']')
	c.finish(w, s, "Encounter", c.encID, c.ev.encounter, true)
	return nil
}

func (c *conv) encounterLocation(w *jw, r hl7.Rep, status string) {
	id := c.location(r)
	if id == "" {
		return
	}
	m := w.obj("")
	w.reference("location", "Location", id)
	w.str("status", status)
	w.end(m, '}')
}
