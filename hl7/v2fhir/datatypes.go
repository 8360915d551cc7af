package v2fhir

import (
	"strings"

	"github.com/hl7gw/gateway/hl7"
)

// coding writes one Coding as an array element.
func (c *conv) coding(w *jw, system string, code, display []byte) {
	m := w.obj("")
	w.str("system", system)
	w.strB("code", code)
	w.strB("display", display)
	w.end(m, '}')
}

// notInR4 are codes the IG maps to that the R4 core's version of their
// code system lacks (v3-MaritalStatus C, common law, came later): the
// mapped coding is left out, the v2 coding stays.
func notInR4(t concept) bool {
	return t.Code == "C" && t.System == "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
}

// cwe writes a CodeableConcept from a CWE/CE/CNE repetition under key k
// (an array element when k is ""). table is the HL7 table whose system the
// code has when CWE-3 is empty ("" for none); vocab, when not nil, is the
// IG's concept map for the element: the mapped coding comes first, the
// code as sent after it. Unmapped codes keep their own system.
func (c *conv) cwe(w *jw, k string, r hl7.Rep, table string, vocab map[string]concept) bool {
	m := w.obj(k)
	arr := w.arr("coding")
	code := trimB(c.cp(r, 1))
	sys := c.cps(r, 3)
	if vocab != nil && len(code) > 0 {
		if t, ok := vocab[string(code)]; ok && (sys == "" || table != "" && len(sys) == 3+len(table) && strings.EqualFold(sys[:3], "HL7") && sys[3:] == table) && !notInR4(t) {
			if t.System != tableSystem(table) || t.Code != string(code) {
				c.coding(w, t.System, []byte(t.Code), []byte(t.Display))
			}
		}
	}
	system := ""
	if sys != "" {
		system = c.codingSystem(sys, view(code))
	} else if len(code) > 0 {
		system = v2System(table, string(code))
	}
	if len(code) > 0 {
		c.coding(w, system, code, c.cp(r, 2))
	}
	if alt := trimB(c.cp(r, 4)); len(alt) > 0 {
		c.coding(w, c.codingSystem(c.cps(r, 6), view(alt)), alt, c.cp(r, 5))
	}
	w.end(arr, ']')
	if t := trimB(c.cp(r, 9)); len(t) > 0 {
		w.strB("text", t)
	} else if len(code) == 0 {
		w.strB("text", c.cp(r, 2)) // a CWE with only text
	}
	return w.end(m, '}')
}

// cweCoding writes a single Coding (Encounter.class) under k.
func (c *conv) cweCoding(w *jw, k string, r hl7.Rep, table string, vocab map[string]concept) {
	code := c.cps(r, 1)
	if code == "" {
		return
	}
	m := w.obj(k)
	if t, ok := vocab[code]; ok {
		w.str("system", t.System)
		w.str("code", t.Code)
		w.str("display", t.Display)
	} else {
		w.str("system", v2System(table, code))
		w.str("code", code)
		w.strB("display", c.cp(r, 2))
	}
	w.end(m, '}')
}

// hdName is an HD's readable name: the namespace, else the universal id.
func hdName(c *conv, r hl7.Rep) string {
	if v := c.cps(r, 1); v != "" {
		return v
	}
	return c.cps(r, 2)
}

// cx writes an Identifier from a CX repetition (an array element).
// typeCode, when set, replaces CX-5 as the identifier type.
func (c *conv) cx(w *jw, r hl7.Rep, typeCode string) {
	value := trimB(c.cp(r, 1))
	if len(value) == 0 {
		return
	}
	m := w.obj("")
	tc, tsys := typeCode, tableSystem("0203") // the converter's own codes are in v2-0203
	if tc == "" {
		tc = c.cps(r, 5)
		tsys = v2System("0203", tc)
	}
	if tc != "" {
		t := w.obj("type")
		a := w.arr("coding")
		c.coding(w, tsys, []byte(tc), nil)
		w.end(a, ']')
		w.end(t, '}')
	}
	w.str("system", c.hdSystem(c.hdSub(r, 4)))
	w.strB("value", value)
	if s, e := c.dtmQuiet(c.comp(r, 7)), c.dtmQuiet(c.comp(r, 8)); s != "" || e != "" {
		p := w.obj("period")
		w.str("start", s)
		w.str("end", e)
		w.end(p, '}')
	}
	w.end(m, '}')
}

// ei writes an Identifier from an EI (entity id, namespace, universal id,
// type) with an identifier type code (PLAC, FILL).
func (c *conv) ei(w *jw, r hl7.Rep, typeCode string) {
	value := trimB(c.cp(r, 1))
	if len(value) == 0 {
		return
	}
	m := w.obj("")
	if typeCode != "" {
		t := w.obj("type")
		a := w.arr("coding")
		c.coding(w, tableSystem("0203"), []byte(typeCode), nil) // PLAC, FILL
		w.end(a, ']')
		w.end(t, '}')
	}
	w.str("system", c.hdSystem(hd{c.cps(r, 2), c.cps(r, 3), c.cps(r, 4)}))
	w.strB("value", value)
	w.end(m, '}')
}

// eiKey is an EI as one string for ids ("" when it has no entity id).
func (c *conv) eiKey(r hl7.Rep) string {
	v := c.cps(r, 1)
	if v == "" {
		return ""
	}
	return c.concat(v, "^", c.cps(r, 2), "^", c.cps(r, 3))
}

// xpn writes a HumanName from an XPN repetition (an array element).
func (c *conv) xpn(w *jw, r hl7.Rep) {
	m := w.obj("")
	if u := c.cps(r, 7); u != "" {
		if t, ok := vocabNameType[u]; ok {
			w.str("use", t.Code)
		}
	}
	w.strB("family", c.txt(c.sub(r, 1, 1)))
	g := w.arr("given")
	w.elem(c.cps(r, 2))
	for rest, more := c.cps(r, 3), true; more; { // XPN-3 names split on spaces
		var v string
		v, rest, more = strings.Cut(rest, " ")
		w.elem(v)
	}
	w.end(g, ']')
	p := w.arr("prefix")
	w.elem(c.cps(r, 5))
	w.end(p, ']')
	s := w.arr("suffix")
	w.elem(c.cps(r, 4))
	w.elem(c.cps(r, 6))
	w.end(s, ']')
	w.end(m, '}')
}

// xad writes an Address from an XAD repetition (an array element), as
// the IG's XAD[Address] and SAD[Address]: lines from the street address's
// three parts (XAD-1), XAD-2 and XAD-19; use or type from XAD-7.
func (c *conv) xad(w *jw, r hl7.Rep) {
	m := w.obj("")
	if u := c.cps(r, 7); u != "" {
		if t, ok := vocabAddressTypeUse[u]; ok {
			w.str("use", t.Code)
		}
		if t, ok := vocabAddressTypeType[u]; ok {
			w.str("type", t.Code)
		}
	}
	l := w.arr("line")
	for s := 1; s <= 3; s++ {
		w.elem(view(c.txt(c.sub(r, 1, s))))
	}
	w.elem(c.cps(r, 2))
	w.elem(c.cps(r, 19))
	w.end(l, ']')
	w.strB("city", c.cp(r, 3))
	w.strB("district", c.cp(r, 9))
	w.strB("state", c.cp(r, 4))
	w.strB("postalCode", c.cp(r, 5))
	w.strB("country", c.cp(r, 6))
	w.end(m, '}')
}

// xtn writes a ContactPoint from an XTN repetition (an array element).
// defaultUse applies when XTN-2 is empty (PID-13 home, PID-14 work).
func (c *conv) xtn(w *jw, r hl7.Rep, defaultUse string) {
	equip := c.cps(r, 3)
	useCode := c.cps(r, 2)
	email := trimB(c.cp(r, 4))
	system, use := "", defaultUse
	if t, ok := vocabTelecommunicationEquipmentType[equip]; ok {
		if t.System == "http://hl7.org/fhir/contact-point-use" {
			system, use = "phone", t.Code // CP: the IG maps it to use mobile
		} else {
			system = t.Code
		}
	}
	if t, ok := vocabTelecommunicationUseCode[useCode]; ok && use != "mobile" {
		use = t.Code
	} else if useCode != "" && use != "mobile" {
		use = ""
	}
	var value string
	switch {
	case len(email) > 0 && (system == "" || system == "email" || useCode == "NET"):
		value, system = string(email), "email"
	case c.valued(r, 12):
		value = c.cps(r, 12)
	case c.valued(r, 7): // the IG's "+"XTN.5" "XTN.6" "XTN.7" X"XTN.8
		start := len(c.arena)
		if cc := c.cps(r, 5); cc != "" {
			c.arena = append(c.arena, '+')
			appendStr(&c.arena, strings.TrimPrefix(cc, "+"))
			c.arena = append(c.arena, ' ')
		}
		if a := c.cps(r, 6); a != "" {
			appendStr(&c.arena, a)
			c.arena = append(c.arena, ' ')
		}
		appendStr(&c.arena, c.cps(r, 7))
		if x := c.cps(r, 8); x != "" {
			appendStr(&c.arena, " X")
			appendStr(&c.arena, x)
		}
		value = c.held(start)
	default:
		value = c.cps(r, 1)
	}
	if value == "" {
		return
	}
	if system == "" {
		system = "phone"
		if strings.Contains(value, "@") {
			system = "email"
		}
	}
	m := w.obj("")
	w.str("system", system)
	w.str("value", value)
	w.str("use", use)
	if n := c.cps(r, 18); allDigits(n) && len(n) < 9 && trimZeros(n) != "0" {
		w.raw("rank", trimZeros(n))
	}
	if s, e := c.dtmQuiet(c.comp(r, 13)), c.dtmQuiet(c.comp(r, 14)); s != "" || e != "" {
		p := w.obj("period")
		w.str("start", s)
		w.str("end", e)
		w.end(p, '}')
	}
	w.end(m, '}')
}

// xcnName writes a Practitioner's name from an XCN (components 2-7).
func (c *conv) xcnName(w *jw, r hl7.Rep) {
	n := w.obj("")
	w.strB("family", c.txt(c.sub(r, 2, 1)))
	g := w.arr("given")
	w.elem(c.cps(r, 3))
	w.elem(c.cps(r, 4))
	w.end(g, ']')
	p := w.arr("prefix")
	w.elem(c.cps(r, 6))
	w.end(p, ']')
	s := w.arr("suffix")
	w.elem(c.cps(r, 5))
	w.elem(c.cps(r, 7))
	w.end(s, ']')
	w.end(n, '}')
}

// practitioner writes (once per message) the Practitioner an XCN names
// and returns its id; "" when the XCN has neither id nor family name.
// Its id comes from XCN-1 and its assigning authority XCN-9, else from
// the name.
func (c *conv) practitioner(r hl7.Rep) string {
	idv, fam := c.cps(r, 1), c.cps(r, 2)
	if idv == "" && fam == "" {
		return ""
	}
	var id string
	if idv != "" {
		id = c.id("Practitioner", idv, c.hdKey(c.hdSub(r, 9)))
	} else {
		id = c.id("Practitioner", "name", fam, c.cps(r, 3), c.cps(r, 4))
	}
	if c.has("Practitioner", id) {
		return id
	}
	w := &c.ref
	start := c.begin(w, "Practitioner", id)
	if idv != "" {
		a := w.arr("identifier")
		m := w.obj("")
		if tc := c.cps(r, 13); tc != "" {
			t := w.obj("type")
			ca := w.arr("coding")
			c.coding(w, v2System("0203", tc), []byte(tc), nil)
			w.end(ca, ']')
			w.end(t, '}')
		}
		w.str("system", c.hdSystem(c.hdSub(r, 9)))
		w.str("value", idv)
		w.end(m, '}')
		w.end(a, ']')
	}
	a := w.arr("name")
	c.xcnName(w, r)
	w.end(a, ']')
	c.finish(w, start, "Practitioner", id, Updated, false)
	return id
}

// organization writes (once per message) an Organization named by an XON
// repetition (name XON-1, identifier XON-10 or XON-3) and returns its id.
func (c *conv) organization(r hl7.Rep) string {
	name := c.cps(r, 1)
	idv := c.cps(r, 10)
	if idv == "" {
		idv = c.cps(r, 3)
	}
	if name == "" && idv == "" {
		return ""
	}
	id := c.id("Organization", idv, name, c.hdKey(c.hdSub(r, 6)))
	if c.has("Organization", id) {
		return id
	}
	c.writeOrganization(id, c.hdSystem(c.hdSub(r, 6)), idv, name)
	return id
}

// organizationCWE writes an Organization named by a CWE (RXA-17
// manufacturer: code and name in the coding system) and returns its id.
func (c *conv) organizationCWE(r hl7.Rep) string {
	code, name := c.cps(r, 1), c.cps(r, 2)
	if code == "" && name == "" {
		return ""
	}
	system := c.systemURI(c.cps(r, 3))
	id := c.id("Organization", "cwe", system, code, name)
	if c.has("Organization", id) {
		return id
	}
	c.writeOrganization(id, system, code, name)
	return id
}

// writeOrganization writes Organization id: one identifier (system,
// value) when value is not empty, and its name. Organizations are always
// updates: many messages name the same one.
func (c *conv) writeOrganization(id, system, value, name string) {
	w := &c.ref
	start := c.begin(w, "Organization", id)
	if value != "" {
		a := w.arr("identifier")
		m := w.obj("")
		w.str("system", system)
		w.str("value", value)
		w.end(m, '}')
		w.end(a, ']')
	}
	w.str("name", name)
	c.finish(w, start, "Organization", id, Updated, false)
}

// location writes (once per message) the Location a PL names (point of
// care^room^bed^facility^status^type^building^floor^description) and
// returns its id.
func (c *conv) location(r hl7.Rep) string {
	if len(trimB(r.Raw())) == 0 || string(r.Raw()) == `""` {
		return ""
	}
	fac := c.hdSub(r, 4)
	facility := fac.ns
	if facility == "" {
		facility = fac.uid
	}
	parts := [...]string{c.cps(r, 1), c.cps(r, 2), c.cps(r, 3), facility, c.cps(r, 7), c.cps(r, 8)}
	nameAt := len(c.arena)
	for _, p := range parts {
		if p == "" {
			continue
		}
		if len(c.arena) > nameAt {
			c.arena = append(c.arena, ' ')
		}
		appendStr(&c.arena, p)
	}
	name := c.held(nameAt)
	if name == "" {
		return ""
	}
	id := c.id("Location", parts[:]...)
	if c.has("Location", id) {
		return id
	}
	w := &c.ref
	start := c.begin(w, "Location", id)
	w.str("name", name)
	w.str("description", c.cps(r, 9))
	w.str("mode", "instance")
	c.finish(w, start, "Location", id, Updated, false)
	return id
}
