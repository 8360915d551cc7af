package v2fhir

import (
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// jw appends FHIR JSON to a byte slice. Commas are decided from the last
// byte written (none after '{', '[' or ':'), and an object or array that
// ends up empty is cut out again with its key, since FHIR JSON forbids
// empty objects, arrays and strings: callers open, write what the message
// has, and close without checking first.
type jw struct{ b []byte }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		switch w.b[n-1] {
		case '{', '[', ':':
		default:
			w.b = append(w.b, ',')
		}
	}
}

// key writes "k": (with a comma when needed).
func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	appendStr(&w.b, k)
	w.b = append(w.b, '"', ':')
}

// obj opens an object member ("k":{, or { in an array when k is "") and
// returns the mark end needs.
func (w *jw) obj(k string) int {
	m := len(w.b)
	if k == "" {
		w.sep()
	} else {
		w.key(k)
	}
	w.b = append(w.b, '{')
	return m
}

// arr opens an array member and returns its mark.
func (w *jw) arr(k string) int {
	m := len(w.b)
	w.key(k)
	w.b = append(w.b, '[')
	return m
}

// end closes what was opened at mark with c ('}' or ']'); when nothing was
// written inside, the whole member is removed and end reports false.
func (w *jw) end(mark int, c byte) bool {
	if n := len(w.b); n > 0 && (w.b[n-1] == '{' || w.b[n-1] == '[') {
		w.b = w.b[:mark]
		return false
	}
	w.b = append(w.b, c)
	return true
}

// str writes "k":"v" when v (trimmed) is not empty.
func (w *jw) str(k, v string) {
	v = trim(v)
	if v == "" {
		return
	}
	w.key(k)
	w.quote(v)
}

// strB is str for bytes already decoded to UTF-8.
func (w *jw) strB(k string, v []byte) {
	v = trimB(v)
	if len(v) == 0 {
		return
	}
	w.key(k)
	w.quoteB(v)
}

// elem writes a string array element.
func (w *jw) elem(v string) {
	v = trim(v)
	if v == "" {
		return
	}
	w.sep()
	w.quote(v)
}

// raw writes "k":v with v already JSON (a number, true, false).
func (w *jw) raw(k, v string) {
	w.key(k)
	appendStr(&w.b, v)
}

func (w *jw) boolean(k string, v bool) { w.raw(k, strconv.FormatBool(v)) }

const hexDigits = "0123456789abcdef"

// jsonPlain marks the bytes quote copies as they are: printable ASCII
// but the quote and the backslash.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// quote writes s as a JSON string: '"', '\\' and control characters
// escaped, invalid UTF-8 bytes replaced by U+FFFD.
func (w *jw) quote(s string) {
	w.b = append(w.b, '"')
	start := 0
	for i := skipPlain(s, 0); i < len(s); i = skipPlain(s, i) {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				appendStr(&w.b, s[start:i])
				appendStr(&w.b, "\ufffd")
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		appendStr(&w.b, s[start:i])
		switch c {
		case '"', '\\':
			w.b = append(w.b, '\\', c)
		case '\n':
			w.b = append(w.b, '\\', 'n')
		case '\r':
			w.b = append(w.b, '\\', 'r')
		case '\t':
			w.b = append(w.b, '\\', 't')
		default:
			w.b = append(w.b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	appendStr(&w.b, s[start:])
	w.b = append(w.b, '"')
}

// skipPlain returns the index of the first byte of s from i on that is
// not jsonPlain, len(s) when there is none. It tests 8 bytes at a time:
// none has its high bit set (non-ASCII), is below 0x20, or equals '"' or
// '\\' ("Bit Twiddling Hacks": exact as a whole for bytes below 0x80).
func skipPlain(s string, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		q, bs := x^('"'*ones), x^('\\'*ones)
		if (x|(x-0x20*ones)&^x|(q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			break
		}
	}
	for i < len(s) && jsonPlain[s[i]] {
		i++
	}
	return i
}

// quoteB is quote for bytes: the string view is not retained.
func (w *jw) quoteB(b []byte) { w.quote(unsafe.String(unsafe.SliceData(b), len(b))) }

// appendStr appends s to *b: append(*b, s...), but for what it stores.
// append writes the slice's pointer back on every call, which costs a
// write barrier while the collector marks; appendStr writes only the
// length unless *b has to grow. The JSON writer and the arena append
// thousands of short strings per message to buffers on the heap.
func appendStr(b *[]byte, s string) {
	n := len(*b)
	if cap(*b)-n < len(s) {
		*b = slices.Grow(*b, len(s))
	}
	*b = (*b)[:n+len(s)]
	copy((*b)[n:], s)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trim(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func trimB(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
