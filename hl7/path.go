package hl7

import "strconv"

// path is a parsed location: SEG[(occ)]-field[(rep)][.comp[.sub]]. occ is
// at least 1; rep, comp and sub are 0 when not given.
type path struct {
	seg                   string
	occ, field, rep, comp int
	sub                   int
}

// parsePath parses p without allocating. Segment ids are 1 to 8 letters
// or digits; numbers are positive and below one million.
func parsePath(p string) (path, bool) {
	var out path
	i := 0
	for i < len(p) && isAlnum(p[i]) {
		i++
	}
	if i == 0 || i > 8 {
		return path{}, false
	}
	out.seg = p[:i]
	out.occ = 1
	rest := p[i:]
	var ok bool
	if len(rest) > 0 && rest[0] == '(' {
		if out.occ, rest, ok = parseParen(rest); !ok {
			return path{}, false
		}
	}
	if len(rest) == 0 || rest[0] != '-' {
		return path{}, false
	}
	if out.field, rest, ok = parseNum(rest[1:]); !ok {
		return path{}, false
	}
	if len(rest) > 0 && rest[0] == '(' {
		if out.rep, rest, ok = parseParen(rest); !ok {
			return path{}, false
		}
	}
	if len(rest) > 0 && rest[0] == '.' {
		if out.comp, rest, ok = parseNum(rest[1:]); !ok {
			return path{}, false
		}
		if len(rest) > 0 && rest[0] == '.' {
			if out.sub, rest, ok = parseNum(rest[1:]); !ok {
				return path{}, false
			}
		}
	}
	return out, len(rest) == 0
}

// parseParen reads "(n)" at the start of s.
func parseParen(s string) (int, string, bool) {
	n, rest, ok := parseNum(s[1:])
	if !ok || len(rest) == 0 || rest[0] != ')' {
		return 0, "", false
	}
	return n, rest[1:], true
}

// parseNum reads a positive decimal number of at most 6 digits.
func parseNum(s string) (int, string, bool) {
	n, i := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if i == 6 {
			return 0, "", false
		}
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || n == 0 {
		return 0, "", false
	}
	return n, s[i:], true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// String renders the path in the canonical form: occurrence and repetition
// only when above 1.
func (p path) String() string {
	b := make([]byte, 0, 24)
	b = append(b, p.seg...)
	if p.occ > 1 {
		b = append(b, '(')
		b = strconv.AppendInt(b, int64(p.occ), 10)
		b = append(b, ')')
	}
	if p.field == 0 {
		return string(b)
	}
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(p.field), 10)
	if p.rep > 1 {
		b = append(b, '(')
		b = strconv.AppendInt(b, int64(p.rep), 10)
		b = append(b, ')')
	}
	if p.comp > 0 {
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(p.comp), 10)
		if p.sub > 0 {
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(p.sub), 10)
		}
	}
	return string(b)
}
