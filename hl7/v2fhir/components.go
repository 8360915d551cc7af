package v2fhir

import "github.com/hl7gw/gateway/hl7"

// maxSplit is how many components of a repetition comp remembers; the
// data types read here have at most 23 (XAD, XCN), and a component past
// it is found by hl7.Rep.Component.
const maxSplit = 32

// compSplit is where the components of the repetition read last end.
// The mappings read a repetition's components one after another (CX-1,
// CX-5, CX-4; CWE-1, 3, 2, 4, 9), and hl7.Rep.Component scans from the
// repetition's start for each: the ends found are kept, so that a
// repetition is scanned once, and no further than its last component read.
type compSplit struct {
	raw  []byte // the repetition: the message's bytes, immutable while Convert runs
	ends [maxSplit]int
	n    int  // ends[:n] are known
	done bool // raw has no component past the n-th
}

// comp returns component n (1-based) of r as written, nil when r has
// fewer: r.Component(n).Raw(), with r's separators found once (c.split).
// r is a repetition of the message, never MSH-1 or MSH-2 (atomic fields
// the mappings do not read).
func (c *conv) comp(r hl7.Rep, n int) []byte {
	raw := r.Raw()
	if n < 1 || len(raw) == 0 {
		return nil
	}
	if n > maxSplit {
		return r.Component(n).Raw()
	}
	s := &c.split
	if len(s.raw) != len(raw) || &s.raw[0] != &raw[0] {
		s.raw, s.n, s.done = raw, 0, false
	}
	sep := c.d.Component
	for s.n < n && !s.done {
		start := 0
		if s.n > 0 {
			start = s.ends[s.n-1] + 1
		}
		end := start
		for end < len(raw) && raw[end] != sep {
			end++
		}
		s.ends[s.n] = end
		s.n++
		s.done = end == len(raw)
	}
	if n > s.n {
		return nil
	}
	start := 0
	if n > 1 {
		start = s.ends[n-2] + 1
	}
	end := s.ends[n-1]
	return raw[start:end:end]
}

// sub returns subcomponent s of component n of r, as written
// (r.Component(n).Sub(s)).
func (c *conv) sub(r hl7.Rep, n, s int) []byte {
	return part(c.comp(r, n), c.d.Subcomponent, s)
}

// part returns part n (1-based) of b split on sep, capacity clipped, or
// nil when b has fewer: a component's subcomponent.
func part(b []byte, sep byte, n int) []byte {
	start := 0
	for ; n > 1; n-- {
		i := start
		for i < len(b) && b[i] != sep {
			i++
		}
		if i == len(b) {
			return nil
		}
		start = i + 1
	}
	end := start
	for end < len(b) && b[end] != sep {
		end++
	}
	return b[start:end:end]
}

// cp returns the decoded text of component n (its first subcomponent).
func (c *conv) cp(r hl7.Rep, n int) []byte { return c.txt(c.sub(r, n, 1)) }

// cps is cp, trimmed, as a string view (see view).
func (c *conv) cps(r hl7.Rep, n int) string { return view(trimB(c.cp(r, n))) }

// valued reports whether component n of r has a value.
func (c *conv) valued(r hl7.Rep, n int) bool {
	v := trimB(c.comp(r, n))
	return len(v) > 0 && !(len(v) == 2 && v[0] == '"' && v[1] == '"')
}
