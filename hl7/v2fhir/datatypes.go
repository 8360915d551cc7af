package v2fhir

import (
	"strings"

	"github.com/hl7gw/gateway/hl7"
)

// codingSystems maps HL7 table 0396 coding system names (CWE-3, CWE-6) to
// FHIR system URIs. HL7nnnn becomes the v2 table's code system; a name
// not listed here is kept as urn:id:<name>, so the code keeps its system.
var codingSystems = map[string]string{
	"LN":      "http://loinc.org",
	"LOINC":   "http://loinc.org",
	"SCT":     "http://snomed.info/sct",
	"SNM":     "http://snomed.info/sct",
	"SNOMED":  "http://snomed.info/sct",
	"UCUM":    "http://unitsofmeasure.org",
	"CVX":     "http://hl7.org/fhir/sid/cvx",
	"MVX":     "http://terminology.hl7.org/CodeSystem/MVX",
	"I9":      "http://hl7.org/fhir/sid/icd-9-cm",
	"I9C":     "http://hl7.org/fhir/sid/icd-9-cm",
	"I9CDX":   "http://hl7.org/fhir/sid/icd-9-cm",
	"I10":     "http://hl7.org/fhir/sid/icd-10",
	"I10C":    "http://hl7.org/fhir/sid/icd-10-cm",
	"ICD10":   "http://hl7.org/fhir/sid/icd-10",
	"I10P":    "http://www.cms.gov/Medicare/Coding/ICD10",
	"C4":      "http://www.ama-assn.org/go/cpt",
	"CPT":     "http://www.ama-assn.org/go/cpt",
	"NDC":     "http://hl7.org/fhir/sid/ndc",
	"RXNORM":  "http://www.nlm.nih.gov/research/umls/rxnorm",
	"RXN":     "http://www.nlm.nih.gov/research/umls/rxnorm",
	"NCIT":    "http://ncithesaurus-stage.nci.nih.gov",
	"NPI":     "http://hl7.org/fhir/sid/us-npi",
	"HCPCS":   "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
	"ISO3166": "urn:iso:std:iso:3166",
}

// systemURI is the FHIR system of a v2 coding system name.
func systemURI(name string) string {
	if name == "" {
		return ""
	}
	if u, ok := codingSystems[strings.ToUpper(name)]; ok {
		return u
	}
	if len(name) == 7 && strings.HasPrefix(strings.ToUpper(name), "HL7") && allDigits(name[3:]) {
		return "http://terminology.hl7.org/CodeSystem/v2-" + name[3:]
	}
	if strings.Contains(name, ":") && !strings.ContainsAny(name, " \t") {
		return name // already a URI (urn:oid:..., http://...)
	}
	return "urn:id:" + strings.Map(uriSafe, name)
}

func uriSafe(r rune) rune {
	if r <= ' ' || r == '%' || r >= 0x7f {
		return '_'
	}
	return r
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// tableSystem is the FHIR system of HL7 table nnnn.
func tableSystem(table string) string {
	if s, ok := tableSystems[table]; ok {
		return s
	}
	return "http://terminology.hl7.org/CodeSystem/v2-" + table
}

// tableSystems holds the systems of the tables v2TableCodes knows, built
// once: conversions ask for them for most codes they write.
var tableSystems = func() map[string]string {
	m := map[string]string{}
	for k := range v2TableCodes {
		t := k[:strings.IndexByte(k, '|')]
		if _, ok := m[t]; !ok {
			m[t] = "http://terminology.hl7.org/CodeSystem/v2-" + t
		}
	}
	return m
}()

// v2System is HL7 table nnnn's system when code is one of the table's
// codes (as the IG's concept maps list them), else "": a sender's local
// code in a user-defined table, or a table the IG lists no codes for, is
// carried without a system rather than claimed for a code system that
// does not have it.
func v2System(table, code string) string {
	if table == "" || !v2TableCodes[table+"|"+code] {
		return ""
	}
	return tableSystem(table)
}

// codingSystem is the system of a code the sender names by coding system
// name (CWE-3, CWE-6): an HL7 table's only when the code is in it.
func codingSystem(name, code string) string {
	if len(name) == 7 && strings.EqualFold(name[:3], "HL7") && allDigits(name[3:]) {
		return v2System(name[3:], code)
	}
	return systemURI(name)
}

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
var notInR4 = map[string]bool{"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus|C": true}

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
		if t, ok := vocab[string(code)]; ok && (sys == "" || table != "" && strings.EqualFold(sys, "HL7"+table)) && !notInR4[t.System+"|"+t.Code] {
			if t.System != tableSystem(table) || t.Code != string(code) {
				c.coding(w, t.System, []byte(t.Code), []byte(t.Display))
			}
		}
	}
	system := ""
	if sys != "" {
		system = codingSystem(sys, string(code))
	} else if len(code) > 0 {
		system = v2System(table, string(code))
	}
	if len(code) > 0 {
		c.coding(w, system, code, c.cp(r, 2))
	}
	if alt := trimB(c.cp(r, 4)); len(alt) > 0 {
		c.coding(w, codingSystem(c.cps(r, 6), string(alt)), alt, c.cp(r, 5))
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

// hd is an HD's three parts, from components or subcomponents.
type hd struct{ ns, uid, typ string }

func (c *conv) hdOf(r hl7.Rep) hd { return hd{c.cps(r, 1), c.cps(r, 2), c.cps(r, 3)} }

// hdSub reads an HD written as subcomponents of component n (CX-4, XCN-9).
func (c *conv) hdSub(r hl7.Rep, n int) hd {
	comp := r.Component(n)
	return hd{
		c.str(comp.Sub(1)), c.str(comp.Sub(2)), c.str(comp.Sub(3)),
	}
}

// system is the identifier system an HD names: urn:oid: for an ISO
// universal id, urn:uuid: for a UUID, the URI itself for a URI, else the
// namespace id as urn:id:<namespace>.
func (h hd) system() string {
	if h.uid != "" {
		switch strings.ToUpper(h.typ) {
		case "ISO":
			if isOID(h.uid) {
				return "urn:oid:" + h.uid
			}
		case "UUID":
			if isUUID(h.uid) {
				return "urn:uuid:" + strings.ToLower(h.uid)
			}
		case "URI", "URL":
			if strings.Contains(h.uid, ":") && !strings.ContainsAny(h.uid, " \t") {
				return h.uid
			}
		}
	}
	if h.ns != "" {
		return systemURI(h.ns)
	}
	if h.uid != "" {
		return systemURI(h.uid)
	}
	return ""
}

// isOID reports whether s is an OID as FHIR's urn:oid: needs it,
// [0-2](.(0|[1-9][0-9]*))+, with at least three arcs (HAPI's validator
// refuses "2.8"; real assigning authorities have more).
func isOID(s string) bool {
	if len(s) < 5 || s[0] < '0' || s[0] > '2' || s[1] != '.' || strings.Count(s, ".") < 2 {
		return false
	}
	for _, arc := range strings.Split(s[2:], ".") {
		if arc == "" || !allDigits(arc) || len(arc) > 1 && arc[0] == '0' {
			return false
		}
	}
	return true
}

// isUUID reports whether s is a UUID in its 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// key is the HD as one string for ids.
func (h hd) key() string { return h.ns + "&" + h.uid + "&" + h.typ }

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
	w.str("system", c.hdSub(r, 4).system())
	w.strB("value", value)
	if s, e := c.dtmQuiet(r.Component(7).Raw()), c.dtmQuiet(r.Component(8).Raw()); s != "" || e != "" {
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
	w.str("system", hd{c.cps(r, 2), c.cps(r, 3), c.cps(r, 4)}.system())
	w.strB("value", value)
	w.end(m, '}')
}

// eiKey is an EI as one string for ids ("" when it has no entity id).
func (c *conv) eiKey(r hl7.Rep) string {
	v := c.cps(r, 1)
	if v == "" {
		return ""
	}
	return v + "^" + c.cps(r, 2) + "^" + c.cps(r, 3)
}

// xpn writes a HumanName from an XPN repetition (an array element).
func (c *conv) xpn(w *jw, r hl7.Rep) {
	m := w.obj("")
	if u := c.cps(r, 7); u != "" {
		if t, ok := vocabNameType[u]; ok {
			w.str("use", t.Code)
		}
	}
	w.strB("family", c.txt(sub(r, 1, 1)))
	g := w.arr("given")
	w.elem(c.cps(r, 2))
	for _, v := range strings.Split(c.cps(r, 3), " ") {
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
	street := r.Component(1)
	for s := 1; s <= 3; s++ {
		w.elem(view(c.txt(street.Sub(s))))
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
	case valued(r, 12):
		value = c.cps(r, 12)
	case valued(r, 7): // the IG's "+"XTN.5" "XTN.6" "XTN.7" X"XTN.8
		var b strings.Builder
		if cc := c.cps(r, 5); cc != "" {
			b.WriteString("+" + strings.TrimPrefix(cc, "+") + " ")
		}
		if a := c.cps(r, 6); a != "" {
			b.WriteString(a + " ")
		}
		b.WriteString(c.cps(r, 7))
		if x := c.cps(r, 8); x != "" {
			b.WriteString(" X" + x)
		}
		value = b.String()
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
	if s, e := c.dtmQuiet(r.Component(13).Raw()), c.dtmQuiet(r.Component(14).Raw()); s != "" || e != "" {
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
	w.strB("family", c.txt(sub(r, 2, 1)))
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
		id = c.id("Practitioner", idv, c.hdSub(r, 9).key())
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
		w.str("system", c.hdSub(r, 9).system())
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
	id := c.id("Organization", idv, name, c.hdSub(r, 6).key())
	if c.has("Organization", id) {
		return id
	}
	w := &c.ref
	start := c.begin(w, "Organization", id)
	if idv != "" {
		a := w.arr("identifier")
		m := w.obj("")
		w.str("system", c.hdSub(r, 6).system())
		w.str("value", idv)
		w.end(m, '}')
		w.end(a, ']')
	}
	w.str("name", name)
	c.finish(w, start, "Organization", id, Updated, false)
	return id
}

// organizationCWE writes an Organization named by a CWE (RXA-17
// manufacturer: code and name in the coding system) and returns its id.
func (c *conv) organizationCWE(r hl7.Rep) string {
	code, name := c.cps(r, 1), c.cps(r, 2)
	if code == "" && name == "" {
		return ""
	}
	system := systemURI(c.cps(r, 3))
	id := c.id("Organization", "cwe", system, code, name)
	if c.has("Organization", id) {
		return id
	}
	w := &c.ref
	start := c.begin(w, "Organization", id)
	if code != "" {
		a := w.arr("identifier")
		m := w.obj("")
		w.str("system", system)
		w.str("value", code)
		w.end(m, '}')
		w.end(a, ']')
	}
	w.str("name", name)
	c.finish(w, start, "Organization", id, Updated, false)
	return id
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
	var name strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if name.Len() > 0 {
			name.WriteByte(' ')
		}
		name.WriteString(p)
	}
	if name.Len() == 0 {
		return ""
	}
	id := c.id("Location", parts[:]...)
	if c.has("Location", id) {
		return id
	}
	w := &c.ref
	start := c.begin(w, "Location", id)
	w.str("name", name.String())
	w.str("description", c.cps(r, 9))
	w.str("mode", "instance")
	c.finish(w, start, "Location", id, Updated, false)
	return id
}
