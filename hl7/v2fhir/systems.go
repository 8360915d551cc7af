package v2fhir

import (
	"strings"
	"unicode/utf8"

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

// systemURI is the FHIR system of a v2 coding system name; one it
// builds is held in the conversion's arena.
func (c *conv) systemURI(name string) string {
	if name == "" {
		return ""
	}
	if u, ok := codingSystems[name]; ok {
		return u
	}
	if hasLower(name) {
		var up [16]byte
		if len(name) <= len(up) {
			if u, ok := codingSystems[string(upperASCII(up[:0], name))]; ok {
				return u
			}
		}
	}
	if len(name) == 7 && strings.EqualFold(name[:3], "HL7") && allDigits(name[3:]) {
		start := len(c.arena)
		appendStr(&c.arena, "http://terminology.hl7.org/CodeSystem/v2-")
		appendStr(&c.arena, name[3:])
		return c.held(start)
	}
	if strings.IndexByte(name, ':') >= 0 && !strings.ContainsAny(name, " \t") {
		return name // already a URI (urn:oid:..., http://...)
	}
	start := len(c.arena)
	b := append(c.arena, "urn:id:"...)
	for _, r := range name { // as strings.Map: invalid UTF-8 is one U+FFFD
		if r <= ' ' || r == '%' || r >= 0x7f {
			r = '_'
		}
		b = utf8.AppendRune(b, r)
	}
	c.arena = b
	return c.held(start)
}

func hasLower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' {
			return true
		}
	}
	return false
}

// upperASCII appends s with a-z in upper case: the keys of codingSystems
// are ASCII, so a name with other bytes matches none either way.
func upperASCII(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		b = append(b, ch)
	}
	return b
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
func (c *conv) codingSystem(name, code string) string {
	if len(name) == 7 && strings.EqualFold(name[:3], "HL7") && allDigits(name[3:]) {
		return v2System(name[3:], code)
	}
	return c.systemURI(name)
}

// hd is an HD's three parts, from components or subcomponents.
type hd struct{ ns, uid, typ string }

func (c *conv) hdOf(r hl7.Rep) hd { return hd{c.cps(r, 1), c.cps(r, 2), c.cps(r, 3)} }

// hdSub reads an HD written as subcomponents of component n (CX-4, XCN-9).
func (c *conv) hdSub(r hl7.Rep, n int) hd {
	return hd{c.str(c.sub(r, n, 1)), c.str(c.sub(r, n, 2)), c.str(c.sub(r, n, 3))}
}

// hdSystem is the identifier system an HD names: urn:oid: for an ISO
// universal id, urn:uuid: for a UUID, the URI itself for a URI, else the
// namespace id as urn:id:<namespace>. One it builds is held in the
// conversion's arena.
func (c *conv) hdSystem(h hd) string {
	if h.uid != "" {
		switch {
		case strings.EqualFold(h.typ, "ISO"):
			if isOID(h.uid) {
				return c.concat("urn:oid:", h.uid, "", "", "")
			}
		case strings.EqualFold(h.typ, "UUID"):
			if isUUID(h.uid) {
				start := len(c.arena)
				appendStr(&c.arena, "urn:uuid:")
				for i := 0; i < len(h.uid); i++ {
					ch := h.uid[i]
					if ch >= 'A' && ch <= 'Z' {
						ch += 'a' - 'A'
					}
					c.arena = append(c.arena, ch)
				}
				return c.held(start)
			}
		case strings.EqualFold(h.typ, "URI"), strings.EqualFold(h.typ, "URL"):
			if strings.Contains(h.uid, ":") && !strings.ContainsAny(h.uid, " \t") {
				return h.uid
			}
		}
	}
	if h.ns != "" {
		return c.systemURI(h.ns)
	}
	if h.uid != "" {
		return c.systemURI(h.uid)
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
	for rest, more := s[2:], true; more; {
		var arc string
		arc, rest, more = strings.Cut(rest, ".")
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

// hdKey is the HD as one string for ids, held in the conversion's arena.
func (c *conv) hdKey(h hd) string { return c.concat(h.ns, "&", h.uid, "&", h.typ) }

// concat is a+b+c+d+e held in the conversion's arena.
func (c *conv) concat(a, b, d, e, f string) string {
	start := len(c.arena)
	appendStr(&c.arena, a)
	appendStr(&c.arena, b)
	appendStr(&c.arena, d)
	appendStr(&c.arena, e)
	appendStr(&c.arena, f)
	return c.held(start)
}
