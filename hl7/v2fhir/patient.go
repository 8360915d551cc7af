package v2fhir

import (
	"strings"

	"github.com/hl7gw/gateway/hl7"
)

// altCodesURL is the extension that carries a code the IG's concept map
// does not map, on a code element FHIR binds to its own value set.
const altCodesURL = "http://hl7.org/fhir/StructureDefinition/alternate-codes"

// code writes k:"<mapped code>" when vocab maps v, else, so that the code
// is not dropped, "_k" with the alternate-codes extension holding it with
// its v2 table system. fallback, when not "", is written as the code of an
// unmapped value (Observation.status "unknown": a required element).
func (c *conv) code(w *jw, k, v, table string, vocab map[string]concept, fallback string) {
	if v == "" {
		return
	}
	if t, ok := vocab[v]; ok {
		w.str(k, t.Code)
		return
	}
	w.str(k, fallback)
	m := w.obj("_" + k)
	c.altCodes(w, v, table)
	w.end(m, '}')
}

// altCodes writes "extension":[alternate-codes with v in table].
func (c *conv) altCodes(w *jw, v, table string) {
	a := w.arr("extension")
	e := w.obj("")
	w.str("url", altCodesURL)
	cc := w.obj("valueCodeableConcept")
	ca := w.arr("coding")
	c.coding(w, v2System(table, v), []byte(v), nil)
	w.end(ca, ']')
	w.end(cc, '}')
	w.end(e, '}')
	w.end(a, ']')
}

// patientKey picks the identifier a Patient's id derives from: the first
// PID-3 (or MRG-1) repetition typed MR, else the first with a value.
func (c *conv) patientKey(f hl7.Field) (value, authority string) {
	var firstV, firstA string
	reps(f, func(r hl7.Rep) {
		v := c.cps(r, 1)
		if v == "" {
			return
		}
		a := c.hdKey(c.hdSub(r, 4))
		if value == "" && c.cps(r, 5) == "MR" {
			value, authority = v, a
		}
		if firstV == "" {
			firstV, firstA = v, a
		}
	})
	if value == "" {
		value, authority = firstV, firstA
	}
	return value, authority
}

// patient converts PID (with PD1 and NK1) to the Patient.
func (c *conv) patient(x segIndex) error {
	var f [64]hl7.Field
	c.segCopy(x.pid, &f)
	v, auth := c.patientKey(f[3])
	if v == "" { // before v2.3.1 the external id (PID-2) or alternate id (PID-4)
		if v, auth = c.patientKey(f[2]); v == "" {
			v, auth = c.patientKey(f[4])
		}
	}
	if v == "" {
		// No identifier: a Patient only this message names (never one
		// guessed from name and birth date, which could merge two people).
		c.warn(codeRequiredMissing, at{"PID", x.pid, 3}, "no patient identifier (PID-3, PID-2 or PID-4): the Patient's id is this message's")
		h := c.msg.Header()
		c.patientID = c.id("Patient", "message", h.ControlID, c.str(firstComponent(c.msg.MSH().Field(7).Raw(), c.d.Component)))
	} else {
		c.patientID = c.id("Patient", v, auth)
	}
	var mergedID string
	if c.ev.structure == adtMerge && x.mrg >= 0 {
		if mv, ma := c.patientKey(c.field(x.mrg, 1)); mv != "" {
			mergedID = c.id("Patient", mv, ma)
		}
	}
	w := &c.w
	start := c.begin(w, "Patient", c.patientID)

	ext := w.arr("extension")
	if mm := trimB(c.txt(c.sub(first(f[6]), 1, 1))); len(mm) > 0 {
		e := w.obj("")
		w.str("url", "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName")
		w.strB("valueString", mm)
		w.end(e, '}')
	}
	if e := w.obj(""); true {
		w.str("url", "http://hl7.org/fhir/StructureDefinition/patient-religion")
		if c.cwe(w, "valueCodeableConcept", first(f[17]), "0006", nil) {
			w.end(e, '}')
		} else {
			w.b = w.b[:e]
		}
	}
	c.usCoreRace(w, f[10], "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race", "0005")
	c.usCoreRace(w, f[22], "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity", "0189")
	if bp := trimB(c.txt(f[23].Rep(1).Raw())); len(bp) > 0 {
		e := w.obj("")
		w.str("url", "http://hl7.org/fhir/StructureDefinition/patient-birthPlace")
		a := w.obj("valueAddress")
		w.strB("text", bp)
		w.end(a, '}')
		w.end(e, '}')
	}
	w.end(ext, ']')

	ids := w.arr("identifier")
	reps(f[2], func(r hl7.Rep) { c.cx(w, r, "") })
	reps(f[3], func(r hl7.Rep) { c.cx(w, r, "") })
	reps(f[4], func(r hl7.Rep) { c.cx(w, r, "") })
	if ssn := trimB(c.txt(f[19].Rep(1).Raw())); len(ssn) > 0 {
		m := w.obj("")
		t := w.obj("type")
		ca := w.arr("coding")
		c.coding(w, tableSystem("0203"), []byte("SS"), nil)
		w.end(ca, ']')
		w.end(t, '}')
		w.str("system", "http://hl7.org/fhir/sid/us-ssn")
		w.strB("value", ssn)
		w.end(m, '}')
	}
	w.end(ids, ']')
	w.boolean("active", true)

	names := w.arr("name")
	reps(f[5], func(r hl7.Rep) { c.xpn(w, r) })
	reps(f[9], func(r hl7.Rep) { c.xpn(w, r) })
	w.end(names, ']')

	tel := w.arr("telecom")
	reps(f[13], func(r hl7.Rep) { c.xtn(w, r, "home") })
	reps(f[14], func(r hl7.Rep) { c.xtn(w, r, "work") })
	w.end(tel, ']')

	// An unmapped sex is gender "unknown" (the element's binding is
	// required) with the code as sent in the alternate-codes extension.
	c.code(w, "gender", c.cps(first(f[8]), 1), "0001", vocabAdministrativeSex, "unknown")

	if p, ok := c.parseTime(f[7].Raw(), at{"PID", x.pid, 7}); ok {
		w.str("birthDate", c.date(p))
		if len(p.digits) > 8 {
			m := w.obj("_birthDate")
			a := w.arr("extension")
			e := w.obj("")
			w.str("url", "http://hl7.org/fhir/StructureDefinition/patient-birthTime")
			w.str("valueDateTime", c.dateTime(p))
			w.end(e, '}')
			w.end(a, ']')
			w.end(m, '}')
		}
	}
	death := c.dtm(f[29].Raw(), at{"PID", x.pid, 29})
	if death != "" {
		w.str("deceasedDateTime", death)
	} else if b, ok := yesNo(c.cps(first(f[30]), 1)); ok {
		w.raw("deceasedBoolean", b)
	}

	addr := w.arr("address")
	reps(f[11], func(r hl7.Rep) { c.xad(w, r) })
	w.end(addr, ']')

	c.cwe(w, "maritalStatus", first(f[16]), "0002", vocabMaritalStatus)
	if n := c.cps(first(f[25]), 1); allDigits(n) && len(n) < 9 {
		w.raw("multipleBirthInteger", trimZeros(n))
	} else if b, ok := yesNo(c.cps(first(f[24]), 1)); ok {
		w.raw("multipleBirthBoolean", b)
	}

	contacts := w.arr("contact")
	for _, i := range x.nk1 {
		c.contact(w, i)
	}
	w.end(contacts, ']')

	comm := w.arr("communication")
	if c.valued(first(f[15]), 1) || c.valued(first(f[15]), 2) {
		m := w.obj("")
		c.cwe(w, "language", first(f[15]), "0296", nil)
		w.end(m, '}')
	}
	w.end(comm, ']')

	if x.pd1 >= 0 {
		gp := w.arr("generalPractitioner")
		reps(c.field(x.pd1, 4), func(r hl7.Rep) {
			if id := c.practitioner(r); id != "" {
				w.refElem("Practitioner", id)
			}
		})
		reps(c.field(x.pd1, 3), func(r hl7.Rep) {
			if id := c.organization(r); id != "" {
				w.refElem("Organization", id)
			}
		})
		w.end(gp, ']')
	}
	if mergedID != "" && mergedID != c.patientID {
		l := w.arr("link")
		m := w.obj("")
		w.reference("other", "Patient", mergedID)
		w.str("type", "replaces")
		w.end(m, '}')
		w.end(l, ']')
	}
	c.finish(w, start, "Patient", c.patientID, c.ev.patient, true)
	return nil
}

// contact writes one NK1 as a Patient.contact.
func (c *conv) contact(w *jw, i int) {
	var f [64]hl7.Field
	c.segCopy(i, &f)
	if len(trimB(f[2].Raw())) == 0 && len(trimB(f[4].Raw())) == 0 && len(trimB(f[5].Raw())) == 0 && len(trimB(f[6].Raw())) == 0 {
		return // pat-1: a contact needs a name, telecom or address; an NK1 without them is left out
	}
	m := w.obj("")
	rel := w.arr("relationship")
	c.cwe(w, "", first(f[3]), "0063", vocabRelationship)
	c.cwe(w, "", first(f[7]), "0131", nil)
	w.end(rel, ']')
	if r := first(f[2]); len(trimB(r.Raw())) > 0 {
		n := w.obj("name")
		w.strB("family", c.txt(c.sub(r, 1, 1)))
		g := w.arr("given")
		w.elem(c.cps(r, 2))
		w.elem(c.cps(r, 3))
		w.end(g, ']')
		w.end(n, '}')
	}
	tel := w.arr("telecom")
	reps(f[5], func(r hl7.Rep) { c.xtn(w, r, "home") })
	reps(f[6], func(r hl7.Rep) { c.xtn(w, r, "work") })
	w.end(tel, ']')
	if r := first(f[4]); len(trimB(r.Raw())) > 0 {
		before := len(w.b)
		w.key("address")
		mark := len(w.b)
		c.xad(w, r)
		if len(w.b) == mark { // the XAD had nothing FHIR holds
			w.b = w.b[:before]
		}
	}
	c.code(w, "gender", c.cps(first(f[15]), 1), "0001", vocabAdministrativeSex, "unknown")
	w.end(m, '}')
}

// merge writes, for A40, the merged-away Patient named by MRG-1: no
// longer active, replaced by the surviving one.
func (c *conv) merge(x segIndex) error {
	if x.mrg < 0 {
		return errorf(codeRequiredMissing, "MRG", "a merge (A40) without an MRG segment")
	}
	var f [64]hl7.Field
	c.segCopy(x.mrg, &f)
	v, auth := c.patientKey(f[1])
	if v == "" {
		return errorf(codeRequiredMissing, "MRG-1", "no prior patient identifier")
	}
	id := c.id("Patient", v, auth)
	if id == c.patientID {
		return nil
	}
	w := &c.w
	start := c.begin(w, "Patient", id)
	ids := w.arr("identifier")
	reps(f[1], func(r hl7.Rep) { c.cx(w, r, "") })
	w.end(ids, ']')
	w.boolean("active", false)
	names := w.arr("name")
	reps(f[7], func(r hl7.Rep) { c.xpn(w, r) })
	w.end(names, ']')
	l := w.arr("link")
	m := w.obj("")
	w.reference("other", "Patient", c.patientID)
	w.str("type", "replaced-by")
	w.end(m, '}')
	w.end(l, ']')
	c.finish(w, start, "Patient", id, Updated, false)
	return nil
}

// yesNo maps an HL7 table 0136 indicator through the IG's YesNoIndicator
// map; senders' spelled-out forms (YES, NO, T, F, TRUE, FALSE, any case)
// are read as Y and N.
func yesNo(v string) (string, bool) {
	switch strings.ToUpper(v) {
	case "YES", "T", "TRUE":
		v = "Y"
	case "NO", "F", "FALSE":
		v = "N"
	default:
		v = strings.ToUpper(v)
	}
	t, ok := vocabYesNoIndicator[v]
	return t.Code, ok
}

// omb are the OMB race and ethnicity categories (CDC race and ethnicity
// code system): US Core's ombCategory; other codes are "detailed".
var omb = map[string]bool{
	"1002-5": true, "2028-9": true, "2054-5": true, "2076-8": true, "2106-3": true,
	"2135-2": true, "2186-5": true, "UNK": true, "ASKU": true,
}

// usCoreRace writes PID-10 (race) or PID-22 (ethnicity) as the US Core
// race or ethnicity extension: each code as ombCategory or detailed, CDC
// race and ethnicity codes (nnnn-n, the codes of HL7 table 0005 since
// v2.5) in their code system, others (table 0189's H, N, U) in their own,
// and the text the extension requires (the displays, else the codes).
func (c *conv) usCoreRace(w *jw, f hl7.Field, url, table string) {
	e := w.obj("")
	w.str("url", url)
	a := w.arr("extension")
	var texts [8]string
	text := texts[:0]
	reps(f, func(r hl7.Rep) {
		code := c.cps(r, 1)
		if code == "" {
			return
		}
		system := c.systemURI(c.cps(r, 3))
		switch {
		case cdcRaceCode(code):
			system = "urn:oid:2.16.840.1.113883.6.238"
		case system == "":
			system = v2System(table, code)
		}
		kind := "detailed"
		if omb[code] {
			kind = "ombCategory"
		}
		m := w.obj("")
		w.str("url", kind)
		vc := w.obj("valueCoding")
		w.str("system", system)
		w.str("code", code)
		disp := c.cps(r, 2)
		w.str("display", disp)
		w.end(vc, '}')
		w.end(m, '}')
		if disp == "" {
			disp = code
		}
		text = append(text, disp)
	})
	if len(text) > 0 {
		m := w.obj("")
		w.str("url", "text")
		at := len(c.arena)
		for i, t := range text {
			if i > 0 {
				appendStr(&c.arena, ", ")
			}
			appendStr(&c.arena, t)
		}
		w.str("valueString", c.held(at))
		w.end(m, '}')
	}
	w.end(a, ']')
	if len(text) == 0 {
		w.b = w.b[:e]
		return
	}
	w.end(e, '}')
}

// cdcRaceCode reports whether code has the CDC race and ethnicity code
// system's form (nnnn-n) or is one of its null codes.
func cdcRaceCode(code string) bool {
	if code == "UNK" || code == "ASKU" {
		return true
	}
	return len(code) == 6 && code[4] == '-' && allDigits(code[:4]) && allDigits(code[5:])
}

// trimZeros drops leading zeros of a digit string ("007" -> "7").
func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
