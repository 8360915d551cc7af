package conformance

import (
	"bytes"
	"math/bits"
)

// codeSet is an HL7 table's values compiled for lookup: codes of up to
// seven bytes (nearly all of them) are packed with their length into one
// integer key and kept in an open-addressing hash table at most half
// full, so that checking a coded value is a multiplication and one or two
// integer comparisons instead of hashing a string; longer codes keep a
// string set.
type codeSet struct {
	slots []uint64 // a power of two long; 0 is a free slot
	shift uint8    // 64 - log2(len(slots))
	empty bool     // the table has the empty code (packed 0)
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
	t := &codeSet{local: id == "0396"}
	size := 8
	for size < 2*len(vals) {
		size *= 2
	}
	t.slots = make([]uint64, size)
	t.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	for v := range vals {
		k, ok := packCode([]byte(v))
		switch {
		case !ok:
			if t.long == nil {
				t.long = map[string]struct{}{}
			}
			t.long[v] = struct{}{}
		case k == 0:
			t.empty = true
		default:
			i := t.slot(k)
			for t.slots[i] != 0 {
				i = (i + 1) & uint64(len(t.slots)-1)
			}
			t.slots[i] = k
		}
	}
	return t
}

// slot is packed code k's home slot (Fibonacci hashing).
func (t *codeSet) slot(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> t.shift }

// hasShort reports whether packed code k is one of the short codes.
func (t *codeSet) hasShort(k uint64) bool {
	if k == 0 {
		return t.empty
	}
	mask := uint64(len(t.slots) - 1)
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch t.slots[i] {
		case k:
			return true
		case 0:
			return false
		}
	}
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
