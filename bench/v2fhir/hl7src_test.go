package v2fhir

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// source is an HL7 v2 message read just far enough to tell whether a field
// is present: segments split on CR or LF, fields on MSH-1, repetitions,
// components and subcomponents on MSH-2. It deliberately shares no code
// with the converter under test, so a parser bug there cannot hide a gap.
type source struct {
	segs        [][]string // fields by segment; MSH's field 1 is the separator
	rep, comp   string
	sub         string
	messageType string // MSH-9.1^MSH-9.2, "ADT^A01"
}

func readSource(b []byte) (*source, error) {
	b = bytes.TrimLeft(b, "\r\n\t \ufeff")
	if len(b) < 8 || string(b[:3]) != "MSH" {
		return nil, fmt.Errorf("no MSH segment at the start")
	}
	fs := string(b[3])
	enc := strings.SplitN(string(b[4:]), fs, 2)[0]
	if len(enc) < 2 {
		return nil, fmt.Errorf("MSH-2 %q too short", enc)
	}
	s := &source{comp: enc[:1], rep: enc[1:2], sub: "&"}
	if len(enc) >= 4 {
		s.sub = enc[3:4]
	}
	for _, line := range strings.FieldsFunc(string(b), func(r rune) bool { return r == '\r' || r == '\n' }) {
		f := strings.Split(line, fs)
		if f[0] == "MSH" {
			// MSH-1 is the field separator itself: shift so f[i] is MSH-i.
			f = append([]string{"MSH", fs}, f[1:]...)
		}
		s.segs = append(s.segs, f)
	}
	typ := s.values("MSH-9.1")
	ev := s.values("MSH-9.2")
	if len(typ) == 0 || len(ev) == 0 {
		return nil, fmt.Errorf("MSH-9 has no message type and trigger event")
	}
	s.messageType = typ[0] + "^" + ev[0]
	return s, nil
}

// values returns the non-empty values at a location "SEG-F" or "SEG-F.C",
// over every occurrence of the segment and every repetition of the field.
// A component location yields its first subcomponent's text; a value
// that is only separators, blanks and HL7's explicit null "" is empty.
func (s *source) values(loc string) []string {
	seg, field, comp := parseLoc(loc)
	var out []string
	for _, f := range s.segs {
		if f[0] == seg {
			out = append(out, s.fieldValues(f, field, comp)...)
		}
	}
	return out
}

// parseLoc splits "PID-11.3" into PID, 11, 3 ("PID-7": component 0).
func parseLoc(loc string) (seg string, field, comp int) {
	seg, rest, _ := strings.Cut(loc, "-")
	fs, cs, hasComp := strings.Cut(rest, ".")
	field, err := strconv.Atoi(fs)
	if err == nil && hasComp {
		comp, err = strconv.Atoi(cs)
	}
	if err != nil || len(seg) != 3 || field < 1 {
		panic("bad HL7 location " + loc)
	}
	return seg, field, comp
}

// fieldValues is values for one segment occurrence f.
func (s *source) fieldValues(f []string, field, comp int) []string {
	if field >= len(f) {
		return nil
	}
	reps := []string{f[field]}
	if !(f[0] == "MSH" && field <= 2) {
		reps = strings.Split(f[field], s.rep)
	}
	var out []string
	for _, r := range reps {
		v := r
		if comp > 0 {
			cs := strings.Split(r, s.comp)
			if comp > len(cs) {
				continue
			}
			v = strings.Split(cs[comp-1], s.sub)[0]
		}
		if s.hasText(v) {
			out = append(out, v)
		}
	}
	return out
}

// hasText reports whether a field, component or subcomponent v holds a
// value: some part of it between separators is neither blank nor HL7's
// explicit null "".
func (s *source) hasText(v string) bool {
	for _, c := range strings.Split(v, s.comp) {
		for _, p := range strings.Split(c, s.sub) {
			if p = strings.TrimSpace(p); p != "" && p != `""` {
				return true
			}
		}
	}
	return false
}

// anySegment reports whether some occurrence of segment seg satisfies
// pred, which reads that occurrence's fields with get(field, component).
func (s *source) anySegment(seg string, pred func(get func(field, comp int) []string) bool) bool {
	for _, f := range s.segs {
		if f[0] == seg && pred(func(field, comp int) []string { return s.fieldValues(f, field, comp) }) {
			return true
		}
	}
	return false
}

// has reports whether any of the locations has a value; a bare segment
// name ("PV1") asks whether the segment occurs.
func (s *source) has(locs ...string) bool {
	for _, l := range locs {
		if !strings.Contains(l, "-") {
			for _, f := range s.segs {
				if f[0] == l {
					return true
				}
			}
			continue
		}
		if len(s.values(l)) > 0 {
			return true
		}
	}
	return false
}
