package fhirval

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeGeneric decodes body into maps, slices, strings, json.Number,
// bools and nils, as runRules and the definitions walk read it: what
// encoding/json with UseNumber gives, in about a third of the time. It is
// meant for bodies the scanner accepted, so it does not check UTF-8 or the
// number grammar again; it refuses structurally malformed input (ok false)
// and input nested deeper than DefaultMaxDepth, and never panics.
func decodeGeneric(body []byte) (v any, ok bool) {
	d := &decoder{b: body, s: string(body)}
	d.space()
	v, err := d.value(0)
	if err != nil {
		return nil, false
	}
	d.space()
	return v, d.pos == len(d.b)
}

var errMalformed = errors.New("malformed JSON")

type decoder struct {
	b   []byte
	s   string // b as a string, copied once: strings without escapes are slices of it
	pos int
}

func (d *decoder) space() {
	for d.pos < len(d.b) && spaceByte[d.b[d.pos]] {
		d.pos++
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.pos >= len(d.b) || depth > DefaultMaxDepth {
		return nil, errMalformed
	}
	switch c := d.b[d.pos]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		start := d.pos
		for d.pos < len(d.b) && numberByte[d.b[d.pos]] {
			d.pos++
		}
		return json.Number(d.b[start:d.pos]), nil
	}
	return nil, errMalformed
}

func (d *decoder) object(depth int) (any, error) {
	d.pos++ // {
	m := make(map[string]any, 8)
	d.space()
	if d.pos < len(d.b) && d.b[d.pos] == '}' {
		d.pos++
		return m, nil
	}
	for {
		d.space()
		if d.pos >= len(d.b) || d.b[d.pos] != '"' {
			return nil, errMalformed
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.pos >= len(d.b) || d.b[d.pos] != ':' {
			return nil, errMalformed
		}
		d.pos++
		d.space()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k] = v // the last of duplicate names wins, as in encoding/json
		d.space()
		if d.pos >= len(d.b) {
			return nil, errMalformed
		}
		switch d.b[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return m, nil
		default:
			return nil, errMalformed
		}
	}
}

func (d *decoder) array(depth int) (any, error) {
	d.pos++ // [
	a := make([]any, 0, 4)
	d.space()
	if d.pos < len(d.b) && d.b[d.pos] == ']' {
		d.pos++
		return a, nil
	}
	for {
		d.space()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.space()
		if d.pos >= len(d.b) {
			return nil, errMalformed
		}
		switch d.b[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return a, nil
		default:
			return nil, errMalformed
		}
	}
}

// str reads a string at the opening quote. Strings without escapes are
// copied as they are; others are unescaped.
func (d *decoder) str() (string, error) {
	// Fast path: up to the next quote, no escape and no control
	// character (the common case), found with IndexByte.
	if end := bytes.IndexByte(d.b[d.pos+1:], '"'); end >= 0 {
		seg := d.b[d.pos+1 : d.pos+1+end]
		if bytes.IndexByte(seg, '\\') < 0 && !hasControl(seg) {
			v := d.s[d.pos+1 : d.pos+1+end]
			d.pos += end + 2
			return v, nil
		}
	}
	start := d.pos
	d.pos++
	escaped := false
	for d.pos < len(d.b) {
		switch c := d.b[d.pos]; {
		case c == '"':
			d.pos++
			if !escaped {
				return d.s[start+1 : d.pos-1], nil
			}
			return unescape(d.b[start+1 : d.pos-1])
		case c == '\\':
			escaped = true
			d.pos += 2
		case c < 0x20:
			return "", errMalformed
		default:
			d.pos++
		}
	}
	return "", errMalformed
}

// hasControl reports whether b holds a byte below 0x20, which JSON strings
// may not.
func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func (d *decoder) literal(w string) error {
	if len(d.b)-d.pos < len(w) || string(d.b[d.pos:d.pos+len(w)]) != w {
		return errMalformed
	}
	d.pos += len(w)
	return nil
}

// numberByte marks the bytes a JSON number is made of.
var numberByte = func() (t [256]bool) {
	for _, c := range []byte("0123456789+-.eE") {
		t[c] = true
	}
	return t
}()

// unescape decodes a JSON string's content with backslash escapes; lone
// surrogates become U+FFFD, as in encoding/json.
func unescape(b []byte) (string, error) {
	var out strings.Builder // one allocation: String does not copy
	out.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out.WriteByte(c)
			continue
		}
		if i+1 >= len(b) {
			return "", errMalformed
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			out.WriteByte(b[i])
		case 'b':
			out.WriteByte('\b')
		case 'f':
			out.WriteByte('\f')
		case 'n':
			out.WriteByte('\n')
		case 'r':
			out.WriteByte('\r')
		case 't':
			out.WriteByte('\t')
		case 'u':
			r, ok := hex4(b, i+1)
			if !ok {
				return "", errMalformed
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					r2, ok2 = hex4(b, i+3)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out.WriteRune(r)
		default:
			return "", errMalformed
		}
	}
	return out.String(), nil
}

// hex4 reads the four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
