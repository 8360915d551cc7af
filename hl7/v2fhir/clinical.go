package v2fhir

import (
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/validation"
)

// clinical converts the patient's AL1, DG1 and IN1 segments.
func (c *conv) clinical(x segIndex) error {
	for _, i := range x.al1 {
		if err := c.allergy(i); err != nil {
			return err
		}
	}
	for _, i := range x.dg1 {
		if err := c.condition(i); err != nil {
			return err
		}
	}
	for _, i := range x.in1 {
		if err := c.coverage(i); err != nil {
			return err
		}
	}
	return nil
}

// reactionSeverity is the IG's AL1-4 map to reaction.severity.
var reactionSeverity = map[string]string{"SV": "severe", "MO": "moderate", "MI": "mild"}

// allergy converts one AL1 to an AllergyIntolerance, its id from the
// Patient and the allergen (AL1-3).
func (c *conv) allergy(i int) error {
	var f [64]hl7.Field
	c.segCopy(i, &f)
	allergen := first(f[3])
	key := c.cps(allergen, 1) + "^" + c.cps(allergen, 3)
	if key == "^" {
		key = c.cps(allergen, 2)
	}
	if key == "" {
		if len(trimB(f[2].Raw())) == 0 && len(trimB(f[4].Raw())) == 0 && len(trimB(f[5].Raw())) == 0 {
			return nil // an empty AL1 placeholder ("AL1|1||^^")
		}
		return errorf(codeRequiredMissing, at{"AL1", i, 3}.String(c), "allergen code/mnemonic/description missing")
	}
	id := c.unique("AllergyIntolerance", c.id("AllergyIntolerance", c.patientID, key))
	onset := c.dtm(f[6].Raw(), at{"AL1", i, 6})
	if sev := c.cps(first(f[4]), 1); sev != "" {
		if _, ok := vocabAllergySeverityCriticality[sev]; !ok && (reactionSeverity[sev] == "" || !c.valued(first(f[5]), 1)) {
			// criticality is bound to high/low/unable-to-assess: a
			// severity the IG maps to neither, without a reaction to
			// carry it, has no place.
			c.warn(validation.CodeTableValue, at{"AL1", i, 4}, "allergy severity not mapped: left out")
		}
	}
	w := &c.w
	s := c.begin(w, "AllergyIntolerance", id)
	// AL1 lists the patient's current allergies: clinicalStatus active
	// (ait-1 requires one).
	cs := w.obj("clinicalStatus")
	ca := w.arr("coding")
	c.coding(w, "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", []byte("active"), []byte("Active"))
	w.end(ca, ']')
	w.end(cs, '}')
	if t := c.cps(first(f[2]), 1); t != "" {
		if cat, ok := vocabAllergenTypeCategory[t]; ok {
			a := w.arr("category")
			w.elem(cat.Code)
			w.end(a, ']')
		} else {
			a := w.arr("_category")
			m := w.obj("")
			c.altCodes(w, t, "0127")
			w.end(m, '}')
			w.end(a, ']')
		}
	}
	severity := c.cps(first(f[4]), 1)
	if t, ok := vocabAllergySeverityCriticality[severity]; ok {
		w.str("criticality", t.Code)
	}
	c.cwe(w, "code", allergen, "", nil)
	c.subject(w, "patient")
	w.str("onsetDateTime", onset)
	re := w.arr("reaction")
	m := w.obj("")
	mf := w.arr("manifestation")
	reps(f[5], func(r hl7.Rep) {
		if c.valued(r, 1) {
			mm := w.obj("")
			w.strB("text", c.txt(r.Raw()))
			w.end(mm, '}')
		}
	})
	if w.end(mf, ']') {
		// AL1-4 is the reaction's severity too (the IG's
		// AllergySeverity[AllergyIntolerance.reaction.severity]).
		w.str("severity", reactionSeverity[severity])
	}
	w.end(m, '}') // no manifestation: no reaction (it is required there)
	w.end(re, ']')
	c.finish(w, s, "AllergyIntolerance", id, c.ev.patient, true)
	return nil
}

// conditionID is the id of the Condition a DG1 becomes: from the
// diagnosis identifier DG1-20 when valued, else the Patient and the
// diagnosis code (DG1-3) or description (DG1-4); "" when there is none.
func (c *conv) conditionID(f *[64]hl7.Field) string {
	if v := c.eiKey(first(f[20])); v != "" {
		return c.id("Condition", "DG1-20", v)
	}
	code := first(f[3])
	key := c.cps(code, 1) + "^" + c.cps(code, 3)
	if key == "^" {
		key = c.cps(first(f[4]), 1)
	}
	if key == "" {
		return ""
	}
	return c.id("Condition", c.patientID, key)
}

// condition converts one DG1 to a Condition (an encounter diagnosis).
func (c *conv) condition(i int) error {
	var f [64]hl7.Field
	c.segCopy(i, &f)
	id := c.conditionID(&f)
	if id == "" {
		return errorf(codeRequiredMissing, at{"DG1", i, 3}.String(c), "diagnosis code and description missing")
	}
	if c.has("Condition", id) {
		return nil
	}
	recorded := c.dtm(f[5].Raw(), at{"DG1", i, 5})
	w := &c.w
	s := c.begin(w, "Condition", id)
	ids := w.arr("identifier")
	reps(f[20], func(r hl7.Rep) { c.ei(w, r, "") })
	w.end(ids, ']')
	cat := w.arr("category")
	m := w.obj("")
	ca := w.arr("coding")
	c.coding(w, "http://terminology.hl7.org/CodeSystem/condition-category", []byte("encounter-diagnosis"), []byte("Encounter Diagnosis"))
	w.end(ca, ']')
	w.end(m, '}')
	w.end(cat, ']')
	if c.valued(first(f[3]), 1) {
		c.cwe(w, "code", first(f[3]), "0051", nil)
	} else {
		m := w.obj("code")
		w.strB("text", c.cp(first(f[4]), 1))
		w.end(m, '}')
	}
	c.subject(w, "subject")
	if c.encID != "" {
		w.reference("encounter", "Encounter", c.encID)
	}
	w.str("recordedDate", recorded)
	c.finish(w, s, "Condition", id, c.ev.patient, true)
	return nil
}

// coverage converts one IN1 to a Coverage, its id from the Patient, the
// plan (IN1-2), the company (IN1-3) and the policy number (IN1-36).
func (c *conv) coverage(i int) error {
	var f [64]hl7.Field
	c.segCopy(i, &f)
	plan, company, policy := c.cps(first(f[2]), 1), c.cps(first(f[3]), 1), c.cps(first(f[36]), 1)
	companyName := c.cps(first(f[4]), 1)
	if plan == "" && company == "" && policy == "" && companyName == "" {
		return nil // an IN1 placeholder: nothing to cover
	}
	id := c.unique("Coverage", c.id("Coverage", c.patientID, plan, company, policy))
	startD := c.dtm(f[12].Raw(), at{"IN1", i, 12})
	endD := c.dtm(f[13].Raw(), at{"IN1", i, 13})
	payor := c.payor(first(f[3]), first(f[4]))
	w := &c.w
	s := c.begin(w, "Coverage", id)
	ids := w.arr("identifier")
	if policy != "" {
		m := w.obj("")
		w.str("value", policy)
		w.end(m, '}')
	}
	if plan != "" { // the plan id (IN1-2), with its coding system
		m := w.obj("")
		w.str("system", c.systemURI(c.cps(first(f[2]), 3)))
		w.str("value", plan)
		w.end(m, '}')
	}
	w.end(ids, ']')
	w.str("status", "active")
	c.cwe(w, "type", first(f[15]), "0086", nil)
	w.str("subscriberId", c.cps(first(f[49]), 1))
	c.subject(w, "beneficiary")
	c.cwe(w, "relationship", first(f[17]), "0063", nil)
	if startD != "" || endD != "" {
		m := w.obj("period")
		w.str("start", startD)
		w.str("end", endD)
		w.end(m, '}')
	}
	pa := w.arr("payor")
	if payor != "" {
		w.refElem("Organization", payor)
	} else { // Coverage.payor is required: the plan as a logical reference
		m := w.obj("")
		w.str("display", "unknown payor")
		w.end(m, '}')
	}
	w.end(pa, ']')
	cl := w.arr("class")
	if g := c.cps(first(f[8]), 1); g != "" {
		m := w.obj("")
		t := w.obj("type")
		ca := w.arr("coding")
		c.coding(w, "http://terminology.hl7.org/CodeSystem/coverage-class", []byte("group"), nil)
		w.end(ca, ']')
		w.end(t, '}')
		w.str("value", g)
		w.str("name", c.cps(first(f[9]), 1))
		w.end(m, '}')
	}
	if plan != "" {
		m := w.obj("")
		t := w.obj("type")
		ca := w.arr("coding")
		c.coding(w, "http://terminology.hl7.org/CodeSystem/coverage-class", []byte("plan"), nil)
		w.end(ca, ']')
		w.end(t, '}')
		w.str("value", plan)
		w.end(m, '}')
	}
	w.end(cl, ']')
	c.finish(w, s, "Coverage", id, c.ev.patient, false)
	return nil
}

// payor writes the insurance company Organization (IN1-3 id, IN1-4 name)
// and returns its id.
func (c *conv) payor(idRep, nameRep hl7.Rep) string {
	idv, name := c.cps(idRep, 1), c.cps(nameRep, 1)
	if idv == "" && name == "" {
		return ""
	}
	auth := c.hdSub(idRep, 4)
	id := c.id("Organization", "payor", idv, c.hdKey(auth), name)
	if c.has("Organization", id) {
		return id
	}
	c.writeOrganization(id, c.hdSystem(auth), idv, name)
	return id
}
