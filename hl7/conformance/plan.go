package conformance

import "github.com/hl7gw/gateway/hl7"

// A composite value is checked through its type's compiled leaf plan: the
// (component, subcomponent) positions whose values a rule can fault, in
// message order, each with its check resolved when the version's tables
// are loaded. Checking a repetition then scans its bytes once, only as far
// as the last position with a check, and calls nothing for the positions
// in between: no component or subcomponent is cut twice, and free-text
// positions (names, addresses, descriptions) cost one byte comparison per
// byte.

// leafCheck is one checked position of a composite type.
type leafCheck struct {
	comp, sub int // position in the value: component, subcomponent (1-based)
	// locComp and locSub are the position a finding names: a TS's time
	// is the field's value (0, 0); a primitive component has no
	// subcomponent (k, 0).
	locComp, locSub int
	kind            primKind
	tab             *item // the component or subcomponent: its table
}

// leafPlan is a composite type's checked positions, compiled twice: the
// checks that can fail against the standard's tables alone (no profile),
// and every format or coded position (a profile's value sets may apply to
// any coded value).
type leafPlan struct {
	std, profile []leafCheck
}

// compileLeaves builds t's leaf plan from its components. It is called
// once per type when the version's tables are resolved.
func (s *spec) compileLeaves(t *typeDef) {
	var p leafPlan
	add := func(lc leafCheck, table string) {
		if s.leafNeeds(lc.kind, table) {
			p.std = append(p.std, lc)
		}
		if lc.kind != kindString && (lc.kind < kindID || table != "") {
			p.profile = append(p.profile, lc)
		}
	}
	for k := range t.comps {
		cd := &t.comps[k]
		if len(cd.typ.comps) == 0 {
			lk := k + 1
			if k == 0 && t.id == "TS" { // a TS's time is the field's value
				lk = 0
			}
			add(leafCheck{comp: k + 1, sub: 1, locComp: lk, kind: cd.typ.kind, tab: cd}, cd.table)
			continue
		}
		for j := range cd.typ.comps {
			sd := &cd.typ.comps[j]
			add(leafCheck{comp: k + 1, sub: j + 1, locComp: k + 1, locSub: j + 1, kind: leafKind(sd.typ), tab: sd}, sd.table)
		}
	}
	t.leaves = p
}

// The classes of a byte inside a field's value: text, or the separator
// it is. A repetition's leaves (subcomponent values) end at any separator;
// the repetition ends at the repetition separator.
const (
	clsText uint8 = iota
	clsSub
	clsComp
	clsRep
)

// delimClasses is a message's byte class table. Where two separators are
// the same byte the larger unit wins (repetition over component over
// subcomponent), as when a value is cut repetition first.
type delimClasses [256]uint8

func newDelimClasses(d hl7.Delimiters) (t delimClasses) {
	t[d.Subcomponent] = clsSub
	t[d.Component] = clsComp
	t[d.Repetition] = clsRep
	return t
}

// leafEnd returns the index of the first separator in b at or after i,
// or len(b): the end of the leaf that starts at i.
func (t *delimClasses) leafEnd(b []byte, i int) int {
	for i < len(b) && t[b[i]] == clsText {
		i++
	}
	return i
}

// composite checks one repetition of a composite value, b from its first
// byte to the end of the field, through the type's leaf plan. It returns
// the index in b where it stopped looking: the end of the last leaf it
// reached, which is the repetition's end when the checks got that far.
func (c *checker) composite(a *at, fd *item, checks []leafCheck, b []byte) int {
	cls := &c.cls
	start, end, comp, sub := 0, 0, 1, 1 // the current leaf b[start:end] and where it stands
	for end < len(b) && cls[b[end]] == clsText {
		end++
	}
	for i := range checks {
		lc := &checks[i]
		for comp < lc.comp || (comp == lc.comp && sub < lc.sub) {
			if end >= len(b) {
				return end
			}
			switch cls[b[end]] {
			case clsComp:
				comp, sub = comp+1, 1
			case clsSub:
				sub++
			default: // the repetition separator
				return end
			}
			start = end + 1
			for end = start; end < len(b) && cls[b[end]] == clsText; end++ {
			}
		}
		if comp == lc.comp && sub == lc.sub && end > start { // else the component had fewer subcomponents, or the leaf is empty
			c.leaf(a, fd, lc.kind, lc.tab, b[start:end], lc.locComp, lc.locSub)
		}
	}
	return end
}
