package conformance

import (
	"strings"
)

// Segment ids are numbered once, for every version together (the ids of
// spec/segments.txt, 1 to 255; 0 is "not a segment HL7 defines"), so that
// the checks per segment index arrays and test bits instead of hashing
// strings: a version's definitions are an array by number, a group's
// segments a bit set, and the structure matcher compares small integers.

// segNum is a segment id's number; 0 stands for an id no version defines.
type segNum uint8

// maxSegNums bounds the numbering (segNum is a byte).
const maxSegNums = 256

// segSet is a set of segment numbers.
type segSet [maxSegNums / 64]uint64

func (s *segSet) add(n segNum)      { s[n>>6] |= 1 << (n & 63) }
func (s *segSet) has(n segNum) bool { return n != 0 && s[n>>6]&(1<<(n&63)) != 0 }
func (s *segSet) union(o *segSet) {
	for i := range s {
		s[i] |= o[i]
	}
}

// segCode maps an id character (A-Z, 0-9) to 1..36 and anything else to 0.
var segCode = func() (t [256]uint8) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = uint8(c-'A') + 1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(c-'0') + 27
	}
	return t
}()

// segSlots is the size of the id table: three characters of 37 codes.
const segSlots = 37 * 37 * 37

// segSlot returns the id table index of a three-character id, or -1 when
// id is not three upper-case letters or digits.
func segSlot(id []byte) int {
	if len(id) != 3 {
		return -1
	}
	a, b, c := segCode[id[0]], segCode[id[1]], segCode[id[2]]
	if a == 0 || b == 0 || c == 0 {
		return -1
	}
	return (int(a)*37+int(b))*37 + int(c)
}

var (
	// segNumbers maps an id's slot to its number.
	segNumbers *[segSlots]segNum
	// segNames maps a number back to its id.
	segNames []string
)

func init() {
	raw, err := specFS.ReadFile("spec/segments.txt")
	if err != nil {
		panic("conformance: embedded segments.txt missing: " + err.Error())
	}
	segNumbers = new([segSlots]segNum)
	segNames = []string{""}
	for _, id := range strings.Fields(string(raw)) {
		k := segSlot([]byte(id))
		if k < 0 || segNumbers[k] != 0 {
			continue
		}
		if len(segNames) == maxSegNums {
			panic("conformance: more segment ids than a segNum holds")
		}
		segNumbers[k] = segNum(len(segNames))
		segNames = append(segNames, id)
	}
}

// segNumber returns the number of a segment id as written, 0 when no
// version defines it.
func segNumber(id []byte) segNum {
	if k := segSlot(id); k >= 0 {
		return segNumbers[k]
	}
	return 0
}

// numberOf is segNumber for a string id.
func numberOf(id string) segNum {
	if len(id) != 3 {
		return 0
	}
	return segNumber([]byte{id[0], id[1], id[2]})
}
