package hl7

import (
	"bytes"
	"math"
	"sync"

	"github.com/hl7gw/gateway/validation"
)

// span is one segment's or field's position in Message.raw, terminator
// excluded. Offsets are 32-bit (ParseMSH refuses larger inputs), which
// keeps a Message, allocated per message and scanned by the collector,
// small.
type span struct{ start, end int32 }

// inlineSegments is how many segment positions a Message holds without a
// second allocation; typical messages have fewer segments.
const inlineSegments = 24

// Message is one parsed HL7 v2 message. It aliases the buffer given to Parse
// and holds only the positions of its segments; fields, repetitions and
// components are found by scanning when asked for. It is immutable and safe
// for concurrent use.
type Message struct {
	raw    []byte
	delims Delimiters
	segs   []span
	inline [inlineSegments]span
	// mshf[n] is where MSH-n (1 to MSHFieldsKept) sits in raw, found once
	// by ParseMSH: the validator, the charset check, the header and the
	// acknowledgement all read these fields.
	mshf [MSHFieldsKept + 1]span

	hdrOnce sync.Once
	hdr     Header // decoded on first Header call
}

// Parse parses one HL7 v2 message at the lenient level. Segments are split
// on '\r', tolerating "\n" and "\r\n" and a trailing separator; empty lines
// are skipped. Only the MSH is checked: Parse fails, with a
// *validation.Error, when the first segment is not MSH (code 100 at "MSH"),
// when MSH-1 or MSH-2 are missing (101) or not valid delimiters (102), or
// when MSH-9.1 is empty (101 at "MSH-9"). Everything else (unknown segments,
// odd field contents, non-UTF-8 bytes) is left to validation. The Message
// keeps raw; values are sub-slices of it until decoded. Parse never panics.
func Parse(raw []byte) (*Message, error) {
	m, err := ParseMSH(raw)
	if err != nil {
		return nil, err
	}
	if len(m.MSHField(9).Rep(1).Component(1).Raw()) == 0 {
		return nil, validation.Errorf(validation.CodeRequiredMissing, "MSH-9", "message type (MSH-9.1) is empty")
	}
	return m, nil
}

// ParseMSH is Parse without the MSH-9 check: it fails only when there is
// no MSH with valid delimiters (or raw exceeds 2 GiB). An acknowledgement of a message Parse
// refuses is built from it, so that it still echoes MSH-10.
func ParseMSH(raw []byte) (*Message, error) {
	if len(raw) > math.MaxInt32 {
		return nil, validation.Errorf(validation.CodeDataType, "MSH", "message is larger than 2 GiB")
	}
	m := &Message{raw: raw}
	m.segs = m.inline[:0]
	m.segs = splitSegments(raw, m.segs)
	if len(m.segs) == 0 {
		return nil, validation.Errorf(validation.CodeSegmentSequence, "MSH", "message is empty")
	}
	msh := raw[m.segs[0].start:m.segs[0].end]
	if len(msh) < 3 || string(msh[:3]) != "MSH" {
		return nil, validation.Errorf(validation.CodeSegmentSequence, "MSH", "message does not start with an MSH segment")
	}
	if len(msh) < 4 {
		return nil, validation.Errorf(validation.CodeRequiredMissing, "MSH-1", "field separator missing")
	}
	sep := msh[3]
	if !validDelimiter(sep) {
		return nil, validation.Errorf(validation.CodeDataType, "MSH-1", "field separator is not a printable non-alphanumeric ASCII character")
	}
	enc := msh[4:]
	if i := bytes.IndexByte(enc, sep); i >= 0 {
		enc = enc[:i]
	}
	if len(enc) == 0 {
		return nil, validation.Errorf(validation.CodeRequiredMissing, "MSH-2", "encoding characters missing")
	}
	d, loc, reason := parseDelimiters(sep, enc)
	if loc != "" {
		return nil, validation.Errorf(validation.CodeDataType, loc, "%s", reason)
	}
	m.delims = d
	m.splitMSH(msh, int(m.segs[0].start))
	return m, nil
}

// MSHFieldsKept is how many MSH fields a Message locates when it is
// parsed (MSH-1 to MSH-21); MSHField reads them without scanning.
const MSHFieldsKept = 21

// splitMSH records the positions of MSH-1 to MSH-21 of msh, which starts
// at offset off of m.raw; absent fields stay empty.
func (m *Message) splitMSH(msh []byte, off int) {
	m.mshf[1].start, m.mshf[1].end = int32(off+3), int32(off+4)
	sep := m.delims.Field
	for n, i := 2, 4; n <= MSHFieldsKept; n++ {
		end := len(msh)
		if j := bytes.IndexByte(msh[i:], sep); j >= 0 {
			end = i + j
		}
		m.mshf[n].start, m.mshf[n].end = int32(off+i), int32(off+end)
		if end == len(msh) {
			return
		}
		i = end + 1
	}
}

// MSHField returns MSH-n. Fields up to MSHFieldsKept are read from the
// positions found when the message was parsed; later ones are scanned
// for, as Segment.Field does.
func (m *Message) MSHField(n int) Field {
	if n < 1 || n > MSHFieldsKept {
		return m.MSH().Field(n)
	}
	s := m.mshf[n]
	raw := m.raw[s.start:s.end:s.end]
	return Field{raw: raw, d: m.delims, atomic: n <= 2}
}

// MSHFields fills dst[i] with MSH-(i+1), as Segment.SplitFields does for
// the MSH, without scanning for the first MSHFieldsKept.
func (m *Message) MSHFields(dst []Field) {
	if len(dst) > MSHFieldsKept {
		m.MSH().SplitFields(dst)
		return
	}
	for i := range dst {
		dst[i] = m.MSHField(i + 1)
	}
}

// splitSegments appends the non-empty lines of raw to segs. Lines end at
// '\r' or '\n'; when raw has no '\n' (the usual case) only '\r' is looked
// for, which is faster.
func splitSegments(raw []byte, segs []span) []span {
	hasLF := bytes.IndexByte(raw, '\n') >= 0
	pos := 0
	for pos < len(raw) {
		var i int
		if hasLF {
			i = indexCRLF(raw[pos:])
		} else {
			i = bytes.IndexByte(raw[pos:], '\r')
		}
		end := len(raw)
		if i >= 0 {
			end = pos + i
		}
		if end > pos {
			segs = append(segs, span{int32(pos), int32(end)})
		}
		pos = end + 1
	}
	return segs
}

// indexCRLF returns the index of the first '\r' or '\n' in b, or -1.
func indexCRLF(b []byte) int {
	for i, c := range b {
		if c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}

// Raw returns the bytes given to Parse.
func (m *Message) Raw() []byte { return m.raw }

// Delimiters returns the separators declared in MSH-1 and MSH-2.
func (m *Message) Delimiters() Delimiters { return m.delims }

// NumSegments returns how many segments the message has.
func (m *Message) NumSegments() int { return len(m.segs) }

// SegmentAt returns the i-th segment (0-based; 0 is MSH), or a zero Segment
// when i is out of range.
func (m *Message) SegmentAt(i int) Segment {
	if i < 0 || i >= len(m.segs) {
		return Segment{}
	}
	s := m.segs[i]
	raw := m.raw[s.start:s.end:s.end]
	// A repeated MSH (invalid in one message) keeps the MSH numbering.
	msh := i == 0 || len(raw) >= 4 && string(raw[:3]) == "MSH" && raw[3] == m.delims.Field
	return Segment{raw: raw, d: m.delims, msh: msh}
}

// MSH returns the message header segment.
func (m *Message) MSH() Segment { return m.SegmentAt(0) }

// Segments returns all segments in order, MSH first. It allocates the slice;
// use NumSegments and SegmentAt to walk without allocating.
func (m *Message) Segments() []Segment {
	out := make([]Segment, len(m.segs))
	for i := range m.segs {
		out[i] = m.SegmentAt(i)
	}
	return out
}

// Segment returns the occurrence-th (1-based) segment named name, and false
// when there is no such segment.
func (m *Message) Segment(name string, occurrence int) (Segment, bool) {
	if occurrence < 1 {
		return Segment{}, false
	}
	for i := range m.segs {
		s := m.SegmentAt(i)
		if string(s.nameBytes()) == name {
			occurrence--
			if occurrence == 0 {
				return s, true
			}
		}
	}
	return Segment{}, false
}

// Count returns how many segments are named name.
func (m *Message) Count(name string) int {
	n := 0
	for i := range m.segs {
		if string(m.SegmentAt(i).nameBytes()) == name {
			n++
		}
	}
	return n
}

// Get returns the decoded (unescaped) value at path, and "" and false when
// the path does not parse or the position is absent. A position that exists
// but is empty gives "" and true.
//
// Paths are SEG[(occ)]-field[(rep)][.component[.subcomponent]], all
// 1-based: "PID-3", "PID-3.1", "MSH-9.2", "OBX(2)-5", "PID-3(2).4.1". A path
// that stops at the field without a repetition gives the whole field, all
// repetitions included; a path naming a component without a repetition
// reads the first repetition. MSH-1 is the field separator and MSH-2 the
// encoding characters, as the standard counts them; both are returned as
// written. The HL7 null value `""` is returned as written (two quotes); see
// Field.IsNull.
func (m *Message) Get(path string) (string, bool) {
	v, ok := m.lookup(path)
	if !ok {
		return "", false
	}
	if v.atomic {
		return string(v.raw), true
	}
	return string(Unescape(v.raw, m.delims)), true
}

// GetRaw is Get without unescaping: a sub-slice of Raw().
func (m *Message) GetRaw(path string) ([]byte, bool) {
	v, ok := m.lookup(path)
	return v.raw, ok
}

// value is the result of a path lookup.
type value struct {
	raw    []byte
	atomic bool
}

func (m *Message) lookup(path string) (value, bool) {
	p, ok := parsePath(path)
	if !ok {
		return value{}, false
	}
	seg, ok := m.Segment(p.seg, p.occ)
	if !ok || p.field > seg.NumFields() {
		return value{}, false
	}
	f := seg.Field(p.field)
	if p.rep == 0 && p.comp == 0 {
		return value{f.raw, f.atomic}, true
	}
	if f.atomic {
		if p.rep > 1 || p.comp > 1 || p.sub > 1 {
			return value{}, false
		}
		return value{f.raw, true}, true
	}
	rep := max(p.rep, 1)
	if rep > max(f.NumReps(), 1) {
		return value{}, false
	}
	r := f.Rep(rep)
	if p.comp == 0 {
		return value{raw: r.raw}, true
	}
	if p.comp > max(r.NumComponents(), 1) {
		return value{}, false
	}
	c := r.Component(p.comp)
	if p.sub == 0 {
		return value{raw: c.raw}, true
	}
	if p.sub > max(c.NumSubs(), 1) {
		return value{}, false
	}
	return value{raw: c.Sub(p.sub)}, true
}
