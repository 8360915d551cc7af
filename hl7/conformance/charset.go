package conformance

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/validation"
)

// charsetCheck says how bytes are checked for a charset.
type charsetCheck uint8

const (
	checkNone    charsetCheck = iota // not checkable here (UTF-16/32, ISO 2022 sets)
	checkASCII                       // bytes < 0x80
	checkUTF8                        // well-formed UTF-8
	checkLatin                       // ISO 8859: no C1 control bytes 0x80-0x9F
	checkCP1252                      // windows-1252: the five unassigned bytes
	checkDecoder                     // a multi-byte decoder must not need replacements
)

// charset is a character set the gateway can name and check.
type charset struct {
	name  string
	check charsetCheck
	enc   encoding.Encoding
}

// table0211 maps HL7 table 0211 values (MSH-18) to charsets.
var table0211 = map[string]charset{
	"ASCII":          {"US-ASCII", checkASCII, nil},
	"ISO IR6":        {"US-ASCII", checkASCII, nil},
	"8859/1":         {"ISO-8859-1", checkLatin, nil},
	"8859/2":         {"ISO-8859-2", checkLatin, nil},
	"8859/3":         {"ISO-8859-3", checkLatin, nil},
	"8859/4":         {"ISO-8859-4", checkLatin, nil},
	"8859/5":         {"ISO-8859-5", checkLatin, nil},
	"8859/6":         {"ISO-8859-6", checkLatin, nil},
	"8859/7":         {"ISO-8859-7", checkLatin, nil},
	"8859/8":         {"ISO-8859-8", checkLatin, nil},
	"8859/9":         {"ISO-8859-9", checkLatin, nil},
	"8859/15":        {"ISO-8859-15", checkLatin, nil},
	"UNICODE UTF-8":  {"UTF-8", checkUTF8, nil},
	"UNICODE":        {"UTF-16", checkNone, nil},
	"UNICODE UTF-16": {"UTF-16", checkNone, nil},
	"UNICODE UTF-32": {"UTF-32", checkNone, nil},
	"ISO IR14":       {"JIS_X0201", checkNone, nil},
	"ISO IR87":       {"ISO-2022-JP", checkDecoder, japanese.ISO2022JP},
	"ISO IR159":      {"JIS_X0212", checkNone, nil},
	"JAS2020":        {"JAS2020", checkNone, nil},
	"JIS X 0202":     {"ISO-2022-JP", checkDecoder, japanese.ISO2022JP},
	"GB 18030-2000":  {"GB18030", checkDecoder, simplifiedchinese.GB18030},
	"KS X 1001":      {"EUC-KR", checkDecoder, korean.EUCKR},
	"CNS 11643-1992": {"CNS-11643-1992", checkNone, nil},
	"BIG-5":          {"Big5", checkDecoder, traditionalchinese.Big5},
}

// charsetByName resolves a charset by its common name (case-insensitive),
// for the configured fallback and for non-standard MSH-18 values.
func charsetByName(name string) (charset, bool) {
	switch strings.ToUpper(strings.ReplaceAll(name, "_", "-")) {
	case "WINDOWS-1252", "CP1252":
		return charset{"windows-1252", checkCP1252, nil}, true
	case "UTF-8", "UTF8":
		return charset{"UTF-8", checkUTF8, nil}, true
	case "US-ASCII", "ASCII":
		return charset{"US-ASCII", checkASCII, nil}, true
	case "ISO-8859-1", "LATIN1", "LATIN-1":
		return charset{"ISO-8859-1", checkLatin, nil}, true
	case "ISO-8859-15":
		return charset{"ISO-8859-15", checkLatin, nil}, true
	case "GB18030":
		return charset{"GB18030", checkDecoder, simplifiedchinese.GB18030}, true
	case "BIG5":
		return charset{"Big5", checkDecoder, traditionalchinese.Big5}, true
	case "EUC-KR":
		return charset{"EUC-KR", checkDecoder, korean.EUCKR}, true
	case "SHIFT-JIS", "SJIS":
		return charset{"Shift_JIS", checkDecoder, japanese.ShiftJIS}, true
	}
	return charset{}, false
}

// valid reports whether b is valid in the charset.
func (cs charset) valid(b []byte) bool {
	switch cs.check {
	case checkASCII:
		return isASCII(b)
	case checkUTF8:
		return utf8.Valid(b)
	case checkLatin:
		for _, c := range b {
			if c >= 0x80 && c <= 0x9f {
				return false
			}
		}
	case checkCP1252:
		for _, c := range b {
			if c == 0x81 || c == 0x8d || c == 0x8f || c == 0x90 || c == 0x9d {
				return false
			}
		}
	case checkDecoder:
		if isASCII(b) {
			return true
		}
		out, err := cs.enc.NewDecoder().Bytes(b)
		return err == nil && !bytes.ContainsRune(out, utf8.RuneError)
	}
	return true
}

// isASCII reports whether b holds only 7-bit bytes, eight at a time.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// maxCharsetFindings bounds the findings for invalid bytes per message.
const maxCharsetFindings = 10

// Charset returns the name of the charset the message is read with:
// MSH-18 (first repetition) mapped from HL7 table 0211 ("UNICODE UTF-8" ->
// "UTF-8", "8859/1" -> "ISO-8859-1"); when MSH-18 is empty, "US-ASCII" for
// pure ASCII, "UTF-8" for valid UTF-8, else the configured fallback (with a
// warning that MSH-18 should say so). Bytes invalid in that charset give
// one finding per segment (at the first field holding them): an error in
// strict mode, a warning in lenient mode. A MSH-18 value outside table 0211
// is a table value finding (103). The message is never re-encoded. Safe
// for concurrent use.
func (v *Validator) Charset(m *hl7.Message) (string, validation.Findings) {
	var msh mshFields
	m.MSHFields(msh[:])
	c := &checker{m: m, d: m.Delimiters()}
	mt := msh.Field(9).Rep(1)
	c.rules = v.o.Profile.match(msh.Field(4).Rep(1).Component(1).Sub(1), mt.Component(1).Sub(1), mt.Component(2).Sub(1))
	if c.rules.strict(v.o.Strict) {
		c.sev = validation.SeverityError
	}
	declared := bytes.TrimSpace(msh.Field(18).Rep(1).Component(1).Sub(1))
	if len(declared) > 0 {
		cs, ok := table0211[string(declared)]
		if !ok {
			if cs, ok = charsetByName(string(declared)); ok {
				c.warn(validation.CodeTableValue, "MSH-18", "character set named outside HL7 table 0211 ("+cs.name+")")
			} else {
				c.add(validation.CodeTableValue, "MSH-18", "character set not in HL7 table 0211")
			}
		}
		if ok {
			c.invalidBytes(cs)
			return cs.name, c.findings
		}
	}
	raw := m.Raw()
	switch {
	case isASCII(raw):
		return "US-ASCII", c.findings
	case utf8.Valid(raw):
		return "UTF-8", c.findings
	}
	c.warn(validation.CodeDataType, "MSH-18", "character set not declared and bytes are not UTF-8; read as "+v.fallback.name)
	c.invalidBytes(v.fallback)
	return v.fallback.name, c.findings
}

// invalidBytes reports, per segment, the first field holding bytes
// invalid in cs.
func (c *checker) invalidBytes(cs charset) {
	if cs.check == checkNone || cs.valid(c.m.Raw()) {
		return
	}
	n := 0
	for i := 0; i < c.m.NumSegments() && n < maxCharsetFindings; i++ {
		raw := c.m.SegmentAt(i).Raw()
		if cs.valid(raw) {
			continue
		}
		name := c.segName(i)
		field := 0
		rest, more := raw, true
		for more {
			var f []byte
			f, rest, more = cut(rest, c.d.Field)
			if !cs.valid(f) {
				break
			}
			field++
		}
		if i == 0 {
			field++ // MSH-1 is the separator itself
		}
		c.add(validation.CodeDataType, location(string(name), c.occurrence(i), field, 0, 0), "bytes not valid in character set "+cs.name)
		n++
	}
}
