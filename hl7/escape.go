package hl7

import "bytes"

// Unescape decodes the escape sequences of b: \F\ \S\ \T\ \R\ \E\ (and \P\
// when d has a truncation character) become the delimiters they name, and
// \Xhh..\ becomes the bytes of its hex digits. Formatting sequences (\H\ \N\
// \.br\ \.sp\ \Zxx\ \Cxxyy\ \Mxxyyzz\ ...), unknown sequences, malformed
// hex and an unterminated escape are kept as written. Other bytes, including
// 8-bit and UTF-8 ones, pass through unchanged.
//
// When b contains no escape character Unescape returns b itself without
// allocating; otherwise it returns a new slice and never modifies b.
func Unescape(b []byte, d Delimiters) []byte {
	if d.Escape == 0 {
		return b
	}
	i := bytes.IndexByte(b, d.Escape)
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i >= 0 {
		out = append(out, b[:i]...)
		b = b[i:]
		end := bytes.IndexByte(b[1:], d.Escape)
		if end < 0 { // unterminated: keep the rest as written
			return append(out, b...)
		}
		seq := b[1 : 1+end]
		out = appendDecoded(out, b[:end+2], seq, d)
		b = b[end+2:]
		i = bytes.IndexByte(b, d.Escape)
	}
	return append(out, b...)
}

// appendDecoded appends the decoding of one escape sequence (seq is the text
// between the escape characters, whole the sequence as written).
func appendDecoded(out, whole, seq []byte, d Delimiters) []byte {
	if len(seq) == 1 {
		switch seq[0] {
		case 'F':
			return append(out, d.Field)
		case 'S':
			return append(out, d.Component)
		case 'T':
			return append(out, d.Subcomponent)
		case 'R':
			return append(out, d.Repetition)
		case 'E':
			return append(out, d.Escape)
		case 'P':
			if d.Truncation != 0 {
				return append(out, d.Truncation)
			}
		}
		return append(out, whole...)
	}
	if len(seq) >= 3 && seq[0] == 'X' && len(seq)%2 == 1 {
		hex := seq[1:]
		for _, c := range hex {
			if unhex(c) < 0 {
				return append(out, whole...)
			}
		}
		for j := 0; j < len(hex); j += 2 {
			out = append(out, byte(unhex(hex[j])<<4|unhex(hex[j+1])))
		}
		return out
	}
	return append(out, whole...)
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Escape encodes s for use as a value under d: the delimiters become \F\ \S\
// \T\ \R\ \E\ (\P\ for a truncation character) and carriage return and line
// feed become \X0D\ and \X0A\, so that the result never breaks a segment.
// Unescape(Escape(s)) == s for delimiters that Parse accepts. When nothing
// needs escaping s is returned as is. Zero delimiters are ignored.
func Escape(s string, d Delimiters) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if escapeSeq(s[i], d) != "" {
			n++
		}
	}
	if n == 0 {
		return s
	}
	out := make([]byte, 0, len(s)+4*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		seq := escapeSeq(c, d)
		if seq == "" {
			out = append(out, c)
			continue
		}
		out = append(out, d.Escape)
		out = append(out, seq...)
		out = append(out, d.Escape)
	}
	return string(out)
}

// escapeSeq names the escape sequence body for c, or "" when c is literal.
func escapeSeq(c byte, d Delimiters) string {
	if d.Escape == 0 {
		return ""
	}
	switch {
	case c == d.Escape:
		return "E"
	case c == 0:
		// Zero delimiters mean "none"; a NUL byte is literal.
		return ""
	case c == d.Field:
		return "F"
	case c == d.Component:
		return "S"
	case c == d.Subcomponent:
		return "T"
	case c == d.Repetition:
		return "R"
	case c == d.Truncation:
		return "P"
	case c == '\r':
		return "X0D"
	case c == '\n':
		return "X0A"
	}
	return ""
}
