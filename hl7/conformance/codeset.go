package conformance

import (
	"bytes"
	"slices"
)

// codeSet is an HL7 table's values compiled for lookup: codes of up to
// seven bytes (nearly all of them) are packed with their length into one
// integer key and kept sorted, so that checking a coded value compares
// integers (a scan for small tables, a binary search for the others)
// instead of hashing a string; longer codes keep a string set.
type codeSet struct {
	short []uint64 // sorted
	long  map[string]struct{}
	// local is table 0396 (coding systems), where 99zzz, L and HL7nnnn
	// are always accepted.
	local bool
}

// packCode packs a code of up to seven bytes and its length; ok is false
// for longer codes.
func packCode(v []byte) (k uint64, ok bool) {
	if len(v) > 7 {
		return 0, false
	}
	k = uint64(len(v)) << 56
	for i, c := range v {
		k |= uint64(c) << (8 * i)
	}
	return k, true
}

// newCodeSet compiles table id's values; nil when it has none.
func newCodeSet(id string, vals map[string]struct{}) *codeSet {
	if len(vals) == 0 {
		return nil
	}
	t := &codeSet{short: make([]uint64, 0, len(vals)), local: id == "0396"}
	for v := range vals {
		if k, ok := packCode([]byte(v)); ok {
			t.short = append(t.short, k)
			continue
		}
		if t.long == nil {
			t.long = map[string]struct{}{}
		}
		t.long[v] = struct{}{}
	}
	slices.Sort(t.short)
	return t
}

// hasShort reports whether packed code k is one of the short codes.
func (t *codeSet) hasShort(k uint64) bool {
	s := t.short
	if len(s) <= 16 {
		for _, x := range s {
			if x == k {
				return true
			}
		}
		return false
	}
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m] < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(s) && s[lo] == k
}

// inValues reports whether v is one of t's values; known is false when
// the table has no values (t is nil).
func inValues(t *codeSet, v []byte) (in, known bool) {
	if t == nil {
		return false, false
	}
	if t.local && (bytes.HasPrefix(v, []byte("99")) || string(v) == "L" || bytes.HasPrefix(v, []byte("HL7"))) {
		return true, true
	}
	if k, ok := packCode(v); ok {
		return t.hasShort(k), true
	}
	_, in = t.long[string(v)]
	return in, true
}
