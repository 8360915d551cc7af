package v2fhir

import (
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"

	"github.com/hl7gw/gateway/hl7"
)

// charset is how a message's non-ASCII bytes become UTF-8. A declared
// single-byte charset (MSH-18 8859/n) is trusted; with MSH-18 empty, bytes
// that are valid UTF-8 are taken as UTF-8 and others as windows-1252 (the
// gateway's hl7.charset.fallback default). Multi-byte charsets other than
// UTF-8 are not decoded: their invalid UTF-8 bytes become U+FFFD.
type charset struct {
	single *charmap.Charmap // nil: UTF-8 when valid, else fallback
	utf8   bool             // declared UTF-8: never the fallback
}

var latin = map[string]*charmap.Charmap{
	"8859/1": charmap.ISO8859_1, "8859/2": charmap.ISO8859_2, "8859/3": charmap.ISO8859_3,
	"8859/4": charmap.ISO8859_4, "8859/5": charmap.ISO8859_5, "8859/6": charmap.ISO8859_6,
	"8859/7": charmap.ISO8859_7, "8859/8": charmap.ISO8859_8, "8859/9": charmap.ISO8859_9,
	"8859/15": charmap.ISO8859_15,
}

func charsetOf(msh18 string) charset {
	if cm, ok := latin[msh18]; ok {
		return charset{single: cm}
	}
	return charset{utf8: msh18 == "UNICODE UTF-8"}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// decode returns b as UTF-8 (b itself when it is ASCII or kept as UTF-8).
func (cs charset) decode(b []byte) []byte {
	if isASCII(b) {
		return b
	}
	var dec *encoding.Decoder
	switch {
	case cs.single != nil:
		dec = cs.single.NewDecoder()
	case cs.utf8 || utf8.Valid(b):
		return b // invalid sequences of declared UTF-8 become U+FFFD when quoted
	default:
		dec = charmap.Windows1252.NewDecoder()
	}
	out, err := dec.Bytes(b)
	if err != nil {
		return b
	}
	return out
}

// txt is the decoded text of raw: escape sequences resolved, charset
// decoded; the HL7 null `""` is empty.
func (c *conv) txt(raw []byte) []byte {
	if len(raw) == 0 || len(raw) == 2 && raw[0] == '"' && raw[1] == '"' {
		return nil
	}
	return c.cs.decode(hl7.Unescape(raw, c.d))
}

// str is txt, trimmed, as a string view (see view).
func (c *conv) str(raw []byte) string { return view(trimB(c.txt(raw))) }

// held returns the bytes appended to c.arena since start as a string
// view. The arena is append-only while a conversion runs, so earlier views
// stay intact when it grows; it is emptied when the conv goes back to the
// pool. Built values (systems, dates, keys) are appended there instead of
// allocated; like views they never outlive the conversion.
func (c *conv) held(start int) string { return view(c.arena[start:]) }

// view is b as a string without a copy: the message's own bytes, or a
// decoded copy of them. Such strings live only while the conversion runs:
// they are written into the JSON (copied), hashed into ids or looked up,
// never kept in a Result; and msg is not modified while Convert runs.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// reps calls fn for each non-empty repetition of f.
func reps(f hl7.Field, fn func(r hl7.Rep)) {
	n := f.NumReps()
	for i := 1; i <= n; i++ {
		r := f.Rep(i)
		if len(trimB(r.Raw())) == 0 || string(r.Raw()) == `""` {
			continue
		}
		fn(r)
	}
}

// first is the field's first repetition.
func first(f hl7.Field) hl7.Rep { return f.Rep(1) }
