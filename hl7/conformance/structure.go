package conformance

import (
	"github.com/hl7gw/gateway/validation"
)

// matcher walks the message's segments through a structure tree greedily,
// without backtracking: a segment node takes as many consecutive segments
// of its id as its repetition limit allows, a group node is entered only
// when the current segment can start it (its first set), and a required
// child that takes nothing is a missing segment. Segments that the tree
// cannot place where they stand are reported and skipped, and matching
// resumes at the top-level position reached.
type matcher struct {
	c      *checker
	segs   []int    // message indexes of the segments taking part
	ids    []segNum // their ids
	pos    int
	report bool
}

// cur is the number of the segment where the matcher stands, 0 at the end.
func (mt *matcher) cur() segNum {
	if mt.pos < len(mt.ids) {
		return mt.ids[mt.pos]
	}
	return 0
}

// seq matches one instance of group g from child index from on and
// returns the index of the last child that took a segment.
func (mt *matcher) seq(g *node, from int) int {
	last := from
	for ci := from; ci < len(g.children); ci++ {
		ch := g.children[ci]
		n := 0
		if ch.seg != "" {
			for ch.num != 0 && mt.cur() == ch.num && (ch.rpt == 0 || n < ch.rpt) {
				mt.pos++
				n++
			}
		} else {
			for (ch.rpt == 0 || n < ch.rpt) && ch.first.has(mt.cur()) {
				start := mt.pos
				mt.seq(ch, 0)
				n++
				if mt.pos == start {
					break
				}
			}
		}
		if n > 0 {
			last = ci
		} else if ch.required && mt.report {
			mt.missing(ch)
		}
	}
	return last
}

// missing reports a required segment or group that is absent where the
// matcher stands.
func (mt *matcher) missing(ch *node) {
	loc := "MSH"
	if mt.pos < len(mt.segs) {
		i := mt.segs[mt.pos]
		loc = location(segNames[mt.ids[mt.pos]], mt.c.occurrence(i), 0, 0, 0)
	} else if len(mt.segs) > 0 {
		i := mt.segs[len(mt.segs)-1]
		loc = location(segNames[mt.ids[len(mt.ids)-1]], mt.c.occurrence(i), 0, 0, 0)
	}
	mt.c.soft(validation.CodeSegmentSequence, loc, ch.missing)
}

// structure checks segment order, groups, required segments and
// repetition limits of the segments in segs against root.
func (c *checker) structure(root *node, segs []int, ids []segNum) {
	mt := matcher{c: c, segs: segs, ids: ids, report: true}
	last := mt.seq(root, 0)
	for mt.pos < len(ids) {
		i := segs[mt.pos]
		c.soft(validation.CodeSegmentSequence, location(segNames[ids[mt.pos]], c.occurrence(i), 0, 0, 0), root.outOfOrder)
		mt.pos++
		mt.report = false
		last = mt.seq(root, last)
	}
}

// walk classifies every segment (standard, Z, unknown), checks its fields
// and then the message structure (when root is known).
func (c *checker) walk(root *node) {
	n := c.m.NumSegments()
	var segBuf [64]int
	var idBuf [64]segNum
	segs, ids := segBuf[:0], idBuf[:0]
	prev, lastValid := "MSH", 0
	for i := 0; i < n; i++ {
		name := c.segName(i)
		if len(name) == 3 && name[0] == 'Z' {
			c.zSegment(i, name, prev)
			continue
		}
		if !validSegID(name) {
			c.add(validation.CodeSegmentSequence, location(string(c.segName(lastValid)), c.occurrence(lastValid), 0, 0, 0), "malformed segment id in a segment after this one")
			continue
		}
		lastValid = i
		num := segNumber(name)
		def := c.spec.segments[num]
		if def == nil {
			loc := location(string(name), c.occurrence(i), 0, 0, 0)
			if num != 0 {
				c.soft(validation.CodeSegmentSequence, loc, "segment not defined in HL7 v"+c.spec.version+" (defined in another version)")
			} else {
				c.add(validation.CodeSegmentSequence, loc, "unknown segment (not a Z-segment, not defined in HL7 v2.1 to v2.8)")
			}
			continue
		}
		prev = def.id
		c.fields(i, def.id, def.fields, def.lastReq)
		if root == nil {
			continue
		}
		if !root.all.has(def.num) {
			c.soft(validation.CodeSegmentSequence, location(def.id, c.occurrence(i), 0, 0, 0), "segment not part of message structure "+root.group)
			continue
		}
		segs, ids = append(segs, i), append(ids, def.num)
	}
	if root != nil {
		c.structure(root, segs, ids)
	}
	if c.rules.n > 0 {
		c.rules.requiredZ(func(id string) {
			if c.m.Count(id) == 0 {
				c.add(validation.CodeSegmentSequence, id, "required Z-segment missing (profile)")
			}
		})
	}
}

// zSegment checks a Z-segment against the profile: declared or allowed,
// position (After), repetitions (Max) and fields.
func (c *checker) zSegment(i int, name []byte, prev string) {
	if c.rules.n == 0 {
		return
	}
	z, ok := c.rules.zSegment(string(name))
	if !ok {
		if !c.rules.allowUndeclaredZ() {
			c.add(validation.CodeSegmentSequence, location(string(name), c.occurrence(i), 0, 0, 0), "Z-segment not declared in the profile")
		}
		return
	}
	id := string(name)
	if len(z.After) > 0 {
		allowed := false
		for _, a := range z.After {
			if a == prev {
				allowed = true
			}
		}
		if !allowed {
			c.add(validation.CodeSegmentSequence, location(id, c.occurrence(i), 0, 0, 0), "Z-segment not allowed after "+prev+" (profile)")
		}
	}
	if occ := c.occurrence(i); z.Max > 0 && occ > z.Max {
		c.add(validation.CodeSegmentSequence, location(id, occ, 0, 0, 0), "Z-segment repeated more often than the profile allows")
	}
	if len(z.Fields) == 0 {
		return
	}
	max := 0
	for _, f := range z.Fields {
		max = maxInt(max, f.Pos)
	}
	defs := make([]item, max)
	for k := range defs {
		defs[k] = item{typ: unchecked, usage: 'O', rpt: 1}
	}
	for _, f := range z.Fields {
		t := unchecked
		if f.Type != "" {
			t = c.spec.lookupType([]byte(f.Type))
		}
		u := byte('O')
		if f.Required {
			u = 'R'
		}
		r := f.Repeat
		switch {
		case r == 0:
			r = 1
		case r < 0:
			r = 0
		}
		defs[f.Pos-1] = item{name: f.Name, typ: t, usage: u, rpt: r, len: f.Len, table: f.Table, profile: true}
	}
	c.fields(i, id, defs, len(defs))
}

// validSegID reports whether id is three upper-case letters or digits.
func validSegID(id []byte) bool {
	if len(id) != 3 {
		return false
	}
	for _, c := range id {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
