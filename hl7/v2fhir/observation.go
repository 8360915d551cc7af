package v2fhir

import (
	"bytes"
	"strings"

	"github.com/hl7gw/gateway/hl7"
)

// obsLink is how an OBX relates to its order group.
type obsLink struct {
	scope      string // the group's order ids, for the Observation id
	srID, drID string
	immID      string // VXU: the Immunization the OBX documents
	effective  string // OBR-7, used when OBX-14 is empty
	specimen   string // the group's first Specimen
}

// observation converts one OBX (with its NTEs) to an Observation and
// returns its id. link is nil for an OBX outside any order.
func (c *conv) observation(i int, notes []int, link *obsLink) (string, error) {
	var f [64]hl7.Field
	c.segCopy(i, &f)
	code := first(f[3])
	scope := c.patientID
	if link != nil {
		scope = link.scope
	}
	id := c.unique("Observation", c.id("Observation", scope, c.cps(code, 1), c.cps(code, 3), c.cps(code, 2),
		c.cps(first(f[4]), 1), c.cps(first(f[1]), 1)))
	eff := c.dtm(f[14].Raw(), at{"OBX", i, 14})
	if eff == "" && link != nil {
		eff = link.effective
	}
	status := c.cps(first(f[11]), 1)
	op := Created
	switch status {
	case "C", "D", "W":
		op = Updated
	}

	w := &c.w
	s := c.begin(w, "Observation", id)
	if link != nil && link.srID != "" {
		b := w.arr("basedOn")
		w.refElem("ServiceRequest", link.srID)
		w.end(b, ']')
	}
	if link != nil && link.immID != "" {
		p := w.arr("partOf")
		w.refElem("Immunization", link.immID)
		w.end(p, ']')
	}
	if status == "" {
		w.str("status", "unknown")
	} else {
		c.code(w, "status", status, "0085", vocabObservationResultStatusCodesInterpretation, "unknown")
	}
	if !c.cwe(w, "code", code, "", nil) {
		absent(w, "code") // OBX-3 empty: Observation.code is required
	}
	c.subject(w, "subject")
	if c.encID != "" {
		w.reference("encounter", "Encounter", c.encID)
	}
	w.str("effectiveDateTime", eff)
	perf := w.arr("performer")
	reps(f[16], func(r hl7.Rep) {
		if id := c.practitioner(r); id != "" {
			w.refElem("Practitioner", id)
		}
	})
	reps(f[23], func(r hl7.Rep) {
		if id := c.organization(r); id != "" {
			w.refElem("Organization", id)
		}
	})
	w.end(perf, ']')
	if err := c.obsValue(w, &f, i); err != nil {
		return "", err
	}
	interp := w.arr("interpretation")
	reps(f[8], func(r hl7.Rep) {
		c.cwe(w, "", r, "0078", vocabInterpretationCodes)
	})
	w.end(interp, ']')
	c.notes(w, notes)
	c.cwe(w, "method", first(f[17]), "", nil)
	if link != nil && link.specimen != "" {
		w.reference("specimen", "Specimen", link.specimen)
	}
	c.referenceRange(w, &f)
	c.finish(w, s, "Observation", id, op, true)
	return id, nil
}

// absent writes k as a CodeableConcept with only the data-absent-reason
// extension (unknown): for required elements whose HL7 field is empty.
func absent(w *jw, k string) {
	m := w.obj(k)
	a := w.arr("extension")
	e := w.obj("")
	w.str("url", "http://hl7.org/fhir/StructureDefinition/data-absent-reason")
	w.str("valueCode", "unknown")
	w.end(e, '}')
	w.end(a, ']')
	w.end(m, '}')
}

// notes writes NTE-3 of each NTE as an Annotation.
func (c *conv) notes(w *jw, nte []int) {
	a := w.arr("note")
	for _, i := range nte {
		at, n := len(c.arena), 0 // the lines joined with "\n" in the arena
		reps(c.field(i, 3), func(r hl7.Rep) {
			line := c.formatted(r.Raw())
			if n > 0 {
				c.arena = append(c.arena, '\n')
			}
			c.arena = append(c.arena, line...)
			n++
		})
		if t := trimB(c.arena[at:]); len(t) > 0 {
			m := w.obj("")
			w.strB("text", t)
			w.end(m, '}')
		}
	}
	w.end(a, ']')
}

// formatted is FT/TX text: escapes resolved, the line break and skip
// sequences \.br\ and \.sp\ as newlines, the highlighting ones \H\ and
// \N\ removed (FHIR strings have no highlighting). Other formatting
// commands are kept as written.
func (c *conv) formatted(raw []byte) []byte {
	t := c.txt(raw)
	e := c.d.Escape
	if e == 0 || bytes.IndexByte(t, e) < 0 {
		return t
	}
	for _, r := range [...]struct{ seq, with string }{{".br", "\n"}, {".sp", "\n"}, {"H", ""}, {"N", ""}} {
		seq := append(append([]byte{e}, r.seq...), e)
		if bytes.Contains(t, seq) {
			t = bytes.ReplaceAll(t, seq, []byte(r.with))
		}
	}
	return t
}

// obsValue writes value[x] from OBX-2, OBX-5 and OBX-6.
func (c *conv) obsValue(w *jw, f *[64]hl7.Field, i int) error {
	vt := c.cps(first(f[2]), 1)
	v := f[5]
	if v.NumReps() == 0 || string(v.Raw()) == `""` {
		return nil
	}
	r := first(v)
	unit := first(f[6])
	switch vt {
	case "NM":
		num := c.cps(r, 1)
		if d, ok := decimal(num); ok {
			c.quantity(w, "valueQuantity", d, "", unit)
			return nil
		}
		if cmp, rest := comparator(num); cmp != "" {
			if d, ok := decimal(rest); ok {
				c.quantity(w, "valueQuantity", d, cmp, unit)
				return nil
			}
		}
		w.str("valueString", num) // not a number: kept as sent
	case "SN":
		c.structuredNumeric(w, r, unit)
	case "CE", "CWE", "CNE", "CF":
		c.cwe(w, "valueCodeableConcept", r, "", nil)
	case "IS", "ID":
		m := w.obj("valueCodeableConcept")
		a := w.arr("coding")
		c.coding(w, "", c.cp(r, 1), nil)
		w.end(a, ']')
		w.end(m, '}')
	case "DT", "DTM", "TS":
		if p, ok := c.parseTime(r.Raw(), at{"OBX", i, 5}); ok {
			w.str("valueDateTime", c.dateTime(p))
		} else {
			w.strB("valueString", c.cp(r, 1)) // not a date: kept as text
		}
	case "TM":
		if t, ok := timeOfDay(c.cps(r, 1)); ok {
			w.str("valueTime", t)
		} else {
			w.str("valueString", c.cps(r, 1))
		}
	case "NR":
		lo, okL := decimal(c.cps(r, 1))
		hi, okH := decimal(c.cps(r, 2))
		if okL || okH {
			m := w.obj("valueRange")
			if okL {
				c.quantity(w, "low", lo, "", unit)
			}
			if okH {
				c.quantity(w, "high", hi, "", unit)
			}
			w.end(m, '}')
		}
	case "ED", "RP":
		// Encapsulated and referenced data have no R4 Observation value;
		// the IG puts them in an R5 extension, which this converter
		// does not write.
	default: // ST, TX, FT, and types FHIR has no value for
		var lines [][]byte
		reps(v, func(r hl7.Rep) { lines = append(lines, c.formatted(r.Raw())) })
		w.strB("valueString", bytes.Join(lines, []byte("\n")))
	}
	return nil
}

// structuredNumeric writes an SN (comparator^num1^separator^num2).
func (c *conv) structuredNumeric(w *jw, r hl7.Rep, unit hl7.Rep) {
	cmp, n1, sep, n2 := c.cps(r, 1), c.cps(r, 2), c.cps(r, 3), c.cps(r, 4)
	d1, ok1 := decimal(n1)
	d2, ok2 := decimal(n2)
	switch {
	case sep == "" && n2 == "" && ok1 && (cmp == "" || cmp == "=" || cmp == "<" || cmp == ">" || cmp == "<=" || cmp == ">="):
		if cmp == "=" {
			cmp = ""
		}
		c.quantity(w, "valueQuantity", d1, cmp, unit)
	case (sep == ":" || sep == "/") && ok1 && ok2 && cmp == "":
		m := w.obj("valueRatio")
		c.quantity(w, "numerator", d1, "", hl7.Rep{})
		c.quantity(w, "denominator", d2, "", hl7.Rep{})
		w.end(m, '}')
	case sep == "-" && ok1 && ok2 && cmp == "":
		m := w.obj("valueRange")
		c.quantity(w, "low", d1, "", unit)
		c.quantity(w, "high", d2, "", unit)
		w.end(m, '}')
	default:
		s := strings.TrimSpace(strings.Join([]string{cmp, n1, sep, n2}, " "))
		w.str("valueString", strings.Join(strings.Fields(s), " "))
	}
}

// quantity writes a Quantity: the value, the unit's text, and, when the
// unit names its coding system (OBX-6.3), its system and code (UCUM for
// "UCUM"). A unit without a system is kept as text only.
func (c *conv) quantity(w *jw, k, value, cmp string, unit hl7.Rep) {
	m := w.obj(k)
	w.raw("value", value)
	w.str("comparator", cmp)
	code, text := c.cps(unit, 1), c.cps(unit, 2)
	if text == "" {
		text = code
	}
	w.str("unit", text)
	if sys := c.systemURI(c.cps(unit, 3)); sys != "" && code != "" {
		w.str("system", sys)
		w.str("code", code)
	}
	w.end(m, '}')
}

// referenceRange writes OBX-7 as the range text, with low and high when it
// reads "low-high", "<high" or ">low".
func (c *conv) referenceRange(w *jw, f *[64]hl7.Field) {
	t := c.cps(first(f[7]), 1)
	if t == "" {
		return
	}
	unit := first(f[6])
	a := w.arr("referenceRange")
	m := w.obj("")
	if lo, hi, ok := strings.Cut(t, "-"); ok && lo != "" {
		if dl, okL := decimal(strings.TrimSpace(lo)); okL {
			if dh, okH := decimal(strings.TrimSpace(hi)); okH {
				c.quantity(w, "low", dl, "", unit)
				c.quantity(w, "high", dh, "", unit)
			}
		}
	} else if cmp, rest := comparator(t); cmp == "<" || cmp == "<=" {
		if d, ok := decimal(rest); ok {
			c.quantity(w, "high", d, "", unit)
		}
	} else if cmp == ">" || cmp == ">=" {
		if d, ok := decimal(rest); ok {
			c.quantity(w, "low", d, "", unit)
		}
	}
	w.str("text", t)
	w.end(m, '}')
	w.end(a, ']')
}

// comparator splits a leading <, <=, >, >= off s.
func comparator(s string) (string, string) {
	s = strings.TrimSpace(s)
	for _, p := range [...]string{"<=", ">=", "<", ">"} {
		if strings.HasPrefix(s, p) {
			return p, strings.TrimSpace(s[len(p):])
		}
	}
	return "", s
}

// decimal normalises an HL7 NM to a FHIR decimal: a leading '+' and
// leading zeros dropped, ".5" -> "0.5", "5." -> "5". ok is false when s
// is not a number.
func decimal(s string) (string, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if !hasDot {
		frac = ""
	}
	if intPart == "" && frac == "" || !(intPart == "" || allDigits(intPart)) || !(frac == "" || allDigits(frac)) {
		return "", false
	}
	intPart = trimZeros(intPart)
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out, true
}

// timeOfDay turns an HL7 TM (HH[MM[SS[.S]]]) into a FHIR time.
func timeOfDay(s string) (string, bool) {
	s, _, _ = strings.Cut(s, "+")
	s, _, _ = strings.Cut(s, "-")
	base, frac, _ := strings.Cut(s, ".")
	if !allDigits(base) || len(base)%2 != 0 || len(base) < 2 || len(base) > 6 || frac != "" && !allDigits(frac) {
		return "", false
	}
	for len(base) < 6 {
		base += "00"
	}
	if atoi(base[:2]) > 23 || atoi(base[2:4]) > 59 || atoi(base[4:6]) > 59 {
		return "", false
	}
	out := base[:2] + ":" + base[2:4] + ":" + base[4:6]
	if frac != "" {
		out += "." + frac
	}
	return out, true
}
