package conformance

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

// leafCursor walks one repetition's bytes forward, component by component
// and subcomponent by subcomponent, never back.
type leafCursor struct {
	rep       []byte
	pos       int  // index of the first byte of the current subcomponent
	comp, sub int  // where pos stands
	cd, sd    byte // the component and subcomponent separators
}

// seek moves the cursor to (comp, sub), which must not be before it, and
// returns the value there; ok is false when the repetition ends first or
// the component has fewer subcomponents (nothing to check then).
func (lc *leafCursor) seek(comp, sub int) (v []byte, ok bool) {
	b, i, cd, sd := lc.rep, lc.pos, lc.cd, lc.sd
	if lc.comp < comp {
		for k := lc.comp; ; i++ {
			if i >= len(b) {
				lc.pos = i
				return nil, false
			}
			if b[i] == cd {
				if k++; k == comp {
					i++
					break
				}
			}
		}
		lc.comp, lc.sub = comp, 1
	}
	for lc.sub < sub {
		for i < len(b) && b[i] != sd && b[i] != cd {
			i++
		}
		if i >= len(b) || b[i] == cd {
			lc.pos = i
			return nil, false
		}
		i++
		lc.sub++
	}
	lc.pos = i
	j := i
	for j < len(b) && b[j] != sd && b[j] != cd {
		j++
	}
	return b[i:j], true
}

// composite checks one repetition of a composite value through the type's
// leaf plan.
func (c *checker) composite(a *at, fd *item, checks []leafCheck, rep []byte) {
	cur := leafCursor{rep: rep, comp: 1, sub: 1, cd: c.d.Component, sd: c.d.Subcomponent}
	for i := range checks {
		lc := &checks[i]
		if lc.comp < cur.comp || (lc.comp == cur.comp && lc.sub < cur.sub) {
			continue // a component that ended before this subcomponent
		}
		v, ok := cur.seek(lc.comp, lc.sub)
		if !ok {
			if cur.pos >= len(rep) {
				return
			}
			continue
		}
		c.leaf(a, fd, lc.kind, lc.tab, v, lc.locComp, lc.locSub)
	}
}
