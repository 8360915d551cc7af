package conformance

import (
	"bytes"

	"github.com/hl7gw/gateway/validation"
)

// at is the position of a value being checked; the location string is
// built only when a finding needs it.
type at struct {
	seg   int    // message index of the segment
	id    string // segment id
	field int
	// floc is the field's location in the segment's first occurrence
	// when the definition has it built ("PID-3"), else empty.
	floc string
}

func (c *checker) loc(a *at, comp, sub int) string {
	occ := c.occurrence(a.seg)
	if comp == 0 && occ == 1 && a.floc != "" {
		return a.floc
	}
	return location(a.id, occ, a.field, comp, sub)
}

// noTable stands for a value checked without a table.
var noTable item

// cut returns b up to the first sep and what follows it; more is false
// when b holds no sep. Short inputs are scanned inline, which beats the
// call into IndexByte for typical HL7 values.
func cut(b []byte, sep byte) (head, tail []byte, more bool) {
	if len(b) <= 16 {
		for i, c := range b {
			if c == sep {
				return b[:i], b[i+1:], true
			}
		}
		return b, nil, false
	}
	if i := bytes.IndexByte(b, sep); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}

// mshSkip are MSH fields checked elsewhere: separators (parser), message
// type (200/201), processing id (202), version (203), charset (Charset).
func mshSkip(pos int) bool {
	return pos <= 2 || pos == 9 || pos == 11 || pos == 12 || pos == 18
}

// fields checks the fields of segment i against defs: required fields,
// repetition limits, lengths and values. lastReq is the highest position whose field the standard requires:
// without a profile, absent fields past it cannot fail.
func (c *checker) fields(i int, id string, defs []item, lastReq int) {
	raw := c.m.SegmentAt(i).Raw()
	var rest []byte
	more := false
	pos := 1
	if i == 0 { // MSH: raw[3] is MSH-1, MSH-2 starts at raw[4]
		pos, rest, more = 2, raw[4:], true
	} else if j := bytes.IndexByte(raw, c.d.Field); j >= 0 {
		rest, more = raw[j+1:], true
	}
	var obx2 []byte
	for ; more; pos++ {
		var f []byte
		f, rest, more = cut(rest, c.d.Field)
		if pos > len(defs) {
			break
		}
		if id == "OBX" && pos == 2 {
			obx2, _, _ = cut(f, c.d.Component)
		}
		if i == 0 && mshSkip(pos) {
			continue
		}
		fd := &defs[pos-1]
		if len(f) == 0 && fd.usage != 'R' && c.rules.n == 0 {
			continue // an empty optional field: nothing to check
		}
		c.field(&at{seg: i, id: id, field: pos, floc: fd.loc}, fd, f, obx2)
	}
	if !more {
		pos-- // pos is the last field present
	}
	last := len(defs)
	if c.rules.n == 0 {
		last = min(last, lastReq)
	}
	for p := pos + 1; p <= last; p++ {
		if !(i == 0 && mshSkip(p)) {
			c.checkRequired(&at{seg: i, id: id, field: p, floc: defs[p-1].loc}, &defs[p-1])
		}
	}
}

// checkRequired reports a missing field when it is required. Required MSH
// fields, fields the profile requires and profile-defined fields are
// enforced at the mode's severity; the standard's other required fields
// only under full conformance.
func (c *checker) checkRequired(a *at, fd *item) {
	std := fd.usage == 'R'
	req := std
	if c.rules.n > 0 {
		req = c.rules.required(a.id, a.field, std)
	}
	if !req {
		return
	}
	if (a.seg == 0 && a.field == 10) || fd.profile || !std {
		c.add(validation.CodeRequiredMissing, c.loc(a, 0, 0), requiredMsg(fd))
		return
	}
	c.soft(validation.CodeRequiredMissing, c.loc(a, 0, 0), requiredMsg(fd))
}

// stdRule records a finding of a standard rule that only full
// conformance enforces, unless hard (or the field is profile-defined).
func (c *checker) stdRule(a *at, fd *item, hard bool, code validation.Code, loc, msg string) {
	if hard || fd.profile {
		c.add(code, loc, msg)
		return
	}
	c.soft(code, loc, msg)
}

func requiredMsg(fd *item) string {
	if fd.missing != "" {
		return fd.missing
	}
	if fd.name == "" {
		return "required field missing"
	}
	return "required field missing (" + fd.name + ")"
}

// field checks one field's value; obx2 is OBX-2 (value type) for OBX-5.
func (c *checker) field(a *at, fd *item, f, obx2 []byte) {
	if len(f) == 0 {
		c.checkRequired(a, fd)
		return
	}
	if string(f) == `""` {
		return
	}
	if !fd.check && !fd.profile && c.rules.n == 0 {
		c.shape(a, fd, f)
		return
	}
	typ := fd.typ
	if typ.id == "VARIES" {
		typ = unchecked
		if a.id == "OBX" && a.field == 5 && len(obx2) > 0 {
			typ = c.spec.lookupType(obx2)
		}
	}
	reps, tooLong := 0, false
	// Each repetition is checked from its first byte to the end of the
	// field: the leaf scan finds where it ends, and only what the checks did
	// not reach is searched for the next separator.
	for rest := f; ; rest = rest[1:] { // skip the separator that ended the last one
		end := 0
		if len(rest) > 0 && c.cls[rest[0]] != clsRep {
			end = c.value(a, fd, typ, rest)
		}
		if end < len(rest) && c.cls[rest[end]] != clsRep { // the checks stopped inside the repetition
			if k := bytes.IndexByte(rest[end:], c.d.Repetition); k >= 0 {
				end += k
			} else {
				end = len(rest)
			}
		}
		reps++
		if fd.len > 0 && end > fd.len {
			tooLong = true
		}
		if rest = rest[end:]; len(rest) == 0 {
			break
		}
	}
	if fd.rpt > 0 && reps > fd.rpt {
		c.stdRule(a, fd, false, validation.CodeDataType, c.loc(a, 0, 0), "field repeats more often than allowed")
	}
	if tooLong {
		c.warn(validation.CodeValueTooLong, c.loc(a, 0, 0), "value longer than the standard's length")
	}
}

// shape checks only the repetition count and lengths of a field whose
// values cannot fail a format or table check.
func (c *checker) shape(a *at, fd *item, f []byte) {
	if fd.rpt > 0 && bytes.Count(f, []byte{c.d.Repetition})+1 > fd.rpt {
		c.stdRule(a, fd, false, validation.CodeDataType, c.loc(a, 0, 0), "field repeats more often than allowed")
	}
	if fd.len <= 0 || len(f) <= fd.len {
		return
	}
	for more := true; more; {
		var r []byte
		r, f, more = cut(f, c.d.Repetition)
		if len(r) > fd.len {
			c.warn(validation.CodeValueTooLong, c.loc(a, 0, 0), "value longer than the standard's length")
			return
		}
	}
}

// value checks one repetition against its data type, down to
// subcomponents. rest runs from the repetition's first byte to the end of
// the field; value returns the index in rest where it stopped looking (see
// composite).
func (c *checker) value(a *at, fd *item, typ *typeDef, rest []byte) int {
	table := fd.table
	if len(typ.comps) == 0 {
		tab := fd
		if typ != fd.typ { // OBX-5 typed by OBX-2: no table
			tab = &noTable
		}
		end := c.cls.leafEnd(rest, 0)
		c.leaf(a, fd, typ.kind, tab, rest[:end], 0, 0)
		return end
	}
	if table != "" && c.rules.n > 0 { // a profile value set for a coded field applies to its code
		code := rest[:c.cls.leafEnd(rest, 0)]
		if in, has := c.rules.valueSet(table, code); has && !in && len(code) > 0 {
			c.add(validation.CodeTableValue, c.loc(a, 1, 0), "code not in the profile's value set for table "+table)
		}
	}
	checks := typ.leaves.std
	if c.rules.n > 0 {
		checks = typ.leaves.profile
	}
	return c.composite(a, fd, checks, rest)
}

// leafKind is how a value at subcomponent level is checked: its type's
// kind, or its first component's for a composite (a TS is its DTM).
func leafKind(t *typeDef) primKind {
	if len(t.comps) == 0 {
		return t.kind
	}
	if first := t.comps[0].typ; len(first.comps) == 0 {
		return first.kind
	}
	return kindString
}

// leaf checks a primitive value.
func (c *checker) leaf(a *at, fd *item, kind primKind, tab *item, v []byte, comp, sub int) {
	if len(v) == 0 || string(v) == `""` {
		return
	}
	switch kind {
	case kindDT:
		if !validDT(v) {
			c.typeErr(a, fd, comp, sub, "not a valid DT date (YYYY[MM[DD]])")
		}
	case kindDTM:
		if !validDTM(v) {
			c.typeErr(a, fd, comp, sub, "not a valid date/time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])")
		}
	case kindTM:
		if !validTM(v) {
			c.typeErr(a, fd, comp, sub, "not a valid TM time (HH[MM[SS[.S]]][+/-ZZZZ])")
		}
	case kindNM:
		if !validNM(v) {
			c.typeErr(a, fd, comp, sub, "not a valid NM number")
		}
	case kindSI:
		if !validSI(v) {
			c.typeErr(a, fd, comp, sub, "not a valid SI sequence id (non-negative integer)")
		}
	case kindID, kindIS:
		if tab.table != "" {
			c.coded(a, fd, kind, tab, v, comp, sub)
		}
	}
}

// coded checks a coded value: HL7-defined tables from the standard, user
// tables only through the profile's value sets.
func (c *checker) coded(a *at, fd *item, kind primKind, tab *item, v []byte, comp, sub int) {
	table := tab.table
	inVS, hasVS := false, false
	if c.rules.n > 0 {
		if inVS, hasVS = c.rules.valueSet(table, v); inVS {
			return
		}
	}
	if kind == kindID || !tab.user {
		if in, known := inValues(tab.vals, v); known {
			if !in {
				hard := a.seg == 0 && comp == 0 && (a.field == 15 || a.field == 16)
				c.stdRule(a, fd, hard, validation.CodeTableValue, c.loc(a, comp, sub), tab.notInTable)
			}
			return
		}
	}
	if hasVS {
		c.add(validation.CodeTableValue, c.loc(a, comp, sub), "value not in the profile's value set for table "+table)
	}
}

// typeErr reports a data type error. Strict mode enforces it for the
// values of the message header and for observation values (OBX-5 typed by
// OBX-2, a time stamp's time included); elsewhere only full conformance
// does.
func (c *checker) typeErr(a *at, fd *item, comp, sub int, msg string) {
	hard := comp == 0 && (a.seg == 0 || (a.id == "OBX" && a.field == 5))
	c.stdRule(a, fd, hard, validation.CodeDataType, c.loc(a, comp, sub), msg)
}
