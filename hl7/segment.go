package hl7

import "bytes"

// Segment is one segment of a Message: its bytes without the terminator.
// The zero Segment is empty (no name, no fields).
type Segment struct {
	raw []byte
	d   Delimiters
	msh bool
}

// Raw returns the segment's bytes, a sub-slice of the message.
func (s Segment) Raw() []byte { return s.raw }

// nameBytes is the segment id: the bytes before the first field separator.
func (s Segment) nameBytes() []byte {
	if s.msh {
		return s.raw[:3]
	}
	if i := bytes.IndexByte(s.raw, s.d.Field); i >= 0 {
		return s.raw[:i]
	}
	return s.raw
}

// Name returns the segment id, e.g. "PID". Common ids are returned without
// allocating.
func (s Segment) Name() string {
	b := s.nameBytes()
	if n, ok := knownNames[string(b)]; ok {
		return n
	}
	return string(b)
}

// NumFields returns the highest field number present ("PID|1||x" has 3;
// an MSH always has at least 2).
func (s Segment) NumFields() int {
	if len(s.raw) == 0 {
		return 0
	}
	n := bytes.Count(s.raw, []byte{s.d.Field})
	if s.msh {
		n++
	}
	return n
}

// Field returns field n (1-based, the standard's numbering: in MSH, field 1
// is the field separator itself and field 2 the encoding characters, both
// atomic). It returns an empty Field when n is out of range.
func (s Segment) Field(n int) Field {
	if n < 1 || len(s.raw) == 0 {
		return Field{d: s.d}
	}
	if s.msh {
		switch n {
		case 1:
			return Field{raw: s.raw[3:4:4], d: s.d, atomic: true}
		case 2:
			return Field{raw: nthPart(s.raw, s.d.Field, 1), d: s.d, atomic: true}
		}
		n--
	}
	return Field{raw: nthPart(s.raw, s.d.Field, n), d: s.d}
}

// SplitFields sets dst[i] to Field(i+1) for every i < len(dst), in one
// pass over the segment: a caller that reads several fields of one
// segment (the validator reads MSH-4, 9, 10, 11, 12 and 18) scans it once
// instead of once per field. Fields the segment does not have are empty.
func (s Segment) SplitFields(dst []Field) {
	for i := range dst {
		dst[i] = Field{d: s.d}
	}
	if len(dst) == 0 || len(s.raw) == 0 {
		return
	}
	n, start, from := 0, 0, 0 // n: the field the part at start is
	if s.msh {
		dst[0] = Field{raw: s.raw[3:4:4], d: s.d, atomic: true}
		n, start, from = 2, 4, 4
	}
	// IndexByte finds each separator with vector instructions: MSH
	// fields are long enough (dates, OIDs) for that to beat a byte loop.
	for i := from; n <= len(dst); {
		end := len(s.raw)
		if j := bytes.IndexByte(s.raw[i:], s.d.Field); j >= 0 {
			end = i + j
		}
		if n >= 1 {
			dst[n-1] = Field{raw: s.raw[start:end:end], d: s.d, atomic: s.msh && n == 2}
		}
		if end == len(s.raw) {
			return
		}
		n++
		i, start = end+1, end+1
	}
}

// nthPart returns the n-th (0-based) part of b split on sep, capacity
// clipped, or nil when there are fewer parts. Parts are short, so a plain
// loop beats bytes.IndexByte's setup cost here.
func nthPart(b []byte, sep byte, n int) []byte {
	start := 0
	if n > 0 {
		start = -1
		for i, c := range b {
			if c == sep {
				n--
				if n == 0 {
					start = i + 1
					break
				}
			}
		}
		if start < 0 {
			return nil
		}
	}
	end := len(b)
	for i := start; i < len(b); i++ {
		if b[i] == sep {
			end = i
			break
		}
	}
	return b[start:end:end]
}

// countParts returns how many parts b has split on sep; 0 when b is empty.
func countParts(b []byte, sep byte) int {
	if len(b) == 0 {
		return 0
	}
	return bytes.Count(b, []byte{sep}) + 1
}

// Field is one field of a segment, all repetitions included.
type Field struct {
	raw    []byte
	d      Delimiters
	atomic bool // MSH-1 and MSH-2: never split, never unescaped
}

// Raw returns the field's bytes as written.
func (f Field) Raw() []byte { return f.raw }

// IsEmpty reports whether the field has no value.
func (f Field) IsEmpty() bool { return len(f.raw) == 0 }

// IsNull reports whether the field holds the HL7 null value `""` (delete
// the receiver's value), as opposed to being empty (leave it unchanged).
func (f Field) IsNull() bool { return string(f.raw) == `""` }

// NumReps returns the number of repetitions; 0 when the field is empty.
func (f Field) NumReps() int {
	if f.atomic {
		return min(len(f.raw), 1)
	}
	return countParts(f.raw, f.d.Repetition)
}

// Rep returns repetition n (1-based); an empty Rep when absent.
func (f Field) Rep(n int) Rep {
	if n < 1 {
		return Rep{d: f.d}
	}
	if f.atomic {
		if n != 1 {
			return Rep{d: f.d}
		}
		return Rep{raw: f.raw, d: f.d, atomic: true}
	}
	return Rep{raw: nthPart(f.raw, f.d.Repetition, n-1), d: f.d}
}

// String returns the field's unescaped value (MSH-1 and MSH-2 as written).
func (f Field) String() string { return decode(f.raw, f.d, f.atomic) }

// Rep is one repetition of a field.
type Rep struct {
	raw    []byte
	d      Delimiters
	atomic bool
}

// Raw returns the repetition's bytes as written.
func (r Rep) Raw() []byte { return r.raw }

// NumComponents returns the number of components; 0 when empty.
func (r Rep) NumComponents() int {
	if r.atomic {
		return min(len(r.raw), 1)
	}
	return countParts(r.raw, r.d.Component)
}

// Component returns component n (1-based); an empty Component when absent.
func (r Rep) Component(n int) Component {
	if n < 1 {
		return Component{d: r.d}
	}
	if r.atomic {
		if n != 1 {
			return Component{d: r.d}
		}
		return Component{raw: r.raw, d: r.d, atomic: true}
	}
	return Component{raw: nthPart(r.raw, r.d.Component, n-1), d: r.d}
}

// String returns the repetition's unescaped value.
func (r Rep) String() string { return decode(r.raw, r.d, r.atomic) }

// Component is one component of a repetition.
type Component struct {
	raw    []byte
	d      Delimiters
	atomic bool
}

// Raw returns the component's bytes as written.
func (c Component) Raw() []byte { return c.raw }

// NumSubs returns the number of subcomponents; 0 when empty.
func (c Component) NumSubs() int {
	if c.atomic {
		return min(len(c.raw), 1)
	}
	return countParts(c.raw, c.d.Subcomponent)
}

// Sub returns subcomponent n (1-based) as written, nil when absent.
func (c Component) Sub(n int) []byte {
	if n < 1 {
		return nil
	}
	if c.atomic {
		if n != 1 {
			return nil
		}
		return c.raw
	}
	return nthPart(c.raw, c.d.Subcomponent, n-1)
}

// String returns the component's unescaped value.
func (c Component) String() string { return decode(c.raw, c.d, c.atomic) }

func decode(raw []byte, d Delimiters, atomic bool) string {
	if atomic {
		return string(raw)
	}
	return string(Unescape(raw, d))
}

// knownNames interns common segment ids so that Segment.Name does not
// allocate for them.
var knownNames = func() map[string]string {
	ids := []string{
		"MSH", "MSA", "ERR", "EVN", "PID", "PD1", "PV1", "PV2", "NK1", "NTE", "OBR", "OBX", "ORC",
		"AL1", "DG1", "DRG", "PR1", "GT1", "IN1", "IN2", "IN3", "ROL", "ACC", "UB1", "UB2", "MRG",
		"SFT", "UAC", "TXA", "SPM", "TQ1", "TQ2", "RXA", "RXR", "RXO", "RXE", "RXD", "RXG", "RXC",
		"SCH", "AIS", "AIG", "AIL", "AIP", "RGS", "QRD", "QRF", "QPD", "QAK", "RCP", "DSC", "CON",
		"FT1", "PRT", "IAM", "ARV", "OH1", "OH2", "OH3", "OH4", "FHS", "FTS", "BHS", "BTS", "ZPD",
	}
	m := make(map[string]string, len(ids))
	for _, id := range ids {
		m[id] = id
	}
	return m
}()
