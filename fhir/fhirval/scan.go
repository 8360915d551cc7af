package fhirval

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hl7gw/gateway/validation"
)

// DefaultMaxDepth bounds the nesting of JSON objects and arrays. The deepest
// official R4 example nests about 20 levels; 100 leaves room for recursive
// Questionnaire items while keeping every recursive consumer downstream
// (google/fhir, encoding/json) far from a stack overflow.
const DefaultMaxDepth = 100

// maxFindings bounds the findings one document can produce, so that a
// hostile body cannot make the answer larger than itself.
const maxFindings = 100

// Doc is what the scanner learned about a JSON document: its top-level
// resourceType and id, and the raw bytes of its top-level members
// (aliasing the scanned body).
type Doc struct {
	// ResourceType is the top-level "resourceType" when it is a string.
	ResourceType string
	// ID is the top-level "id" when it is a string; HasID reports whether
	// the member is present at all (of any JSON type).
	ID      string
	HasID   bool
	members []docMember // first occurrence of each name, in document order

	// What the scan found for Check, so that a body scanned once (Scan)
	// is not read again by CheckScanned.
	scanned   bool
	badSyntax bool
	content   validation.Findings // unrooted
	// rules is set when some object could give runRules a finding (see
	// frame.ruleKeys); otherwise the generic decode of the body is skipped.
	rules bool
}

// Member returns the raw JSON of a top-level member (its first
// occurrence), or nil when it is absent. The slice aliases the body.
func (d *Doc) Member(name string) []byte {
	if d == nil {
		return nil
	}
	for _, m := range d.members {
		if string(m.name) == name {
			return m.raw
		}
	}
	return nil
}

type docMember struct{ name, raw []byte }

// scanner is a single-pass, iterative (never recursive) JSON checker. It
// reports RFC 8259 violations, the JSON5-isms FHIR forbids (comments,
// trailing commas), invalid UTF-8 and nesting deeper than maxDepth as
// syntax findings, and the FHIR JSON rules that need no schema (unique
// member names, no empty arrays or objects, no nulls outside arrays, no
// empty strings) as content findings. Locations are FHIRPath-like paths
// built from member names and indexes; values never appear in them.
type scanner struct {
	b        []byte
	pos      int
	maxDepth int
	stack    []frame
	names    [][]byte // member names of the open objects, innermost last
	doc      *Doc
	syntax   validation.Findings
	content  validation.Findings
}

type frame struct {
	object bool
	key    []byte // member name of the value being read (objects); aliases the body unless escaped
	index  int    // element index (arrays)
	start  int    // offset of the opening bracket
	nkeys  int    // member names read so far (objects)
	dupKey bool   // key occurred before in the object
	keysAt int    // where the object's names start in scanner.names
	big    map[string]struct{}
	seen   ruleKeys // member names runRules reacts to
	rt, id []byte   // raw string values of "resourceType" and "id"
}

// scan checks body. Locations in the returned findings are relative to the
// root (".name[0]"); Check prefixes the resource type. It never panics and
// its memory is bounded by the depth limit and the number of member names.
func scan(body []byte, maxDepth int) (doc *Doc, syntax, content validation.Findings) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	s := scanners.Get().(*scanner)
	*s = scanner{b: body, maxDepth: maxDepth, doc: &Doc{}, stack: s.stack[:0], names: s.names[:0]}
	s.run()
	doc, syntax, content = s.doc, s.syntax, s.content
	doc.scanned, doc.badSyntax, doc.content = true, len(syntax) > 0, content
	s.release()
	return doc, syntax, content
}

func (s *scanner) run() {
	if bytes.HasPrefix(s.b, utf8BOM) {
		s.pos = len(utf8BOM) // RFC 8259 §8.1 lets a parser ignore it; FHIR servers do
	}
	s.skipSpace()
	if s.pos >= len(s.b) {
		s.syntaxErr("empty body")
		return
	}
	if s.b[s.pos] != '{' {
		s.syntaxErr("the document is not a JSON object")
		return
	}
	for {
		// A value starts at pos (after space).
		s.skipSpace()
		if s.pos >= len(s.b) {
			s.syntaxErr("unexpected end of JSON")
			return
		}
		c := s.b[s.pos]
		if c == '{' || c == '[' {
			if len(s.stack) >= s.maxDepth {
				s.syntaxErr("JSON nested deeper than " + strconv.Itoa(s.maxDepth) + " levels")
				return
			}
			s.stack = append(s.stack, frame{object: c == '{', start: s.pos, keysAt: len(s.names)})
			s.pos++
			s.skipSpace()
			if s.pos < len(s.b) && (s.b[s.pos] == '}' || s.b[s.pos] == ']') {
				if (s.b[s.pos] == '}') != (c == '{') {
					s.syntaxErr("mismatched closing bracket")
					return
				}
				what := "empty array"
				if c == '{' {
					what = "empty object"
				}
				s.contentErrAt(validation.CodeRequiredMissing, s.containerPath(), what)
				s.pop()
			} else {
				if c == '{' && !s.key() {
					return
				}
				continue
			}
		} else if !s.scalar() {
			return
		}
		// After a value: separators and closing brackets.
		if !s.after() {
			return
		}
		if len(s.stack) == 0 {
			s.skipSpace()
			if s.pos < len(s.b) {
				s.syntaxErr("content after the JSON object")
			}
			return
		}
	}
}

// after consumes what follows a complete value: closing brackets, then a
// comma (and the next member name). It returns false after a syntax error;
// on return with a non-empty stack, pos is at the next value.
func (s *scanner) after() bool {
	for len(s.stack) > 0 {
		s.skipSpace()
		if s.pos >= len(s.b) {
			s.syntaxErr("unexpected end of JSON")
			return false
		}
		top := &s.stack[len(s.stack)-1]
		c := s.b[s.pos]
		switch {
		case c == ',':
			s.pos++
			s.skipSpace()
			if s.pos < len(s.b) && (s.b[s.pos] == '}' || s.b[s.pos] == ']') {
				s.syntaxErrAt(s.containerPath(), "trailing comma")
				return false
			}
			if top.object {
				return s.key()
			}
			top.index++
			return true
		case top.object && c == '}', !top.object && c == ']':
			s.pop()
		case c == '/':
			s.syntaxErr("comments are not allowed in JSON")
			return false
		default:
			s.syntaxErr("expected ',' or a closing bracket")
			return false
		}
	}
	return true
}

// pop closes the innermost container and records it as a top-level member
// when it is one.
func (s *scanner) pop() {
	f := &s.stack[len(s.stack)-1]
	start := f.start
	if f.object {
		if !s.doc.rules && needsRules(f) {
			s.doc.rules = true
		}
		s.names = s.names[:f.keysAt]
	}
	s.pos++
	s.stack = s.stack[:len(s.stack)-1]
	s.member(start)
}

// scalar reads a string, number or literal.
func (s *scanner) scalar() bool {
	start := s.pos
	switch c := s.b[s.pos]; {
	case c == '"':
		if !s.str() {
			return false
		}
		if s.pos-start == 2 {
			s.contentErr(validation.CodeRequiredMissing, "empty string")
		}
	case c == 't' || c == 'f' || c == 'n':
		w := "null"
		if c == 't' {
			w = "true"
		} else if c == 'f' {
			w = "false"
		}
		if !bytes.HasPrefix(s.b[s.pos:], []byte(w)) {
			s.syntaxErr("invalid literal")
			return false
		}
		s.pos += len(w)
		if w == "null" && s.stack[len(s.stack)-1].object {
			s.contentErr(validation.CodeDataType, "null value")
		}
	case c == '-' || c >= '0' && c <= '9':
		if !s.number() {
			return false
		}
	case c == '/':
		s.syntaxErr("comments are not allowed in JSON")
		return false
	default:
		s.syntaxErr("unexpected character")
		return false
	}
	if top := &s.stack[len(s.stack)-1]; top.object && s.b[start] == '"' {
		switch string(top.key) {
		case "resourceType":
			top.rt = s.b[start:s.pos]
		case "id":
			top.id = s.b[start:s.pos]
		}
	}
	s.member(start)
	return true
}

// member records a finished value [start, pos) when it is a direct member
// of the top-level object.
func (s *scanner) member(start int) {
	if len(s.stack) != 1 || s.stack[0].dupKey {
		return
	}
	k, raw := s.stack[0].key, s.b[start:s.pos]
	s.doc.members = append(s.doc.members, docMember{name: k, raw: raw})
	switch string(k) {
	case "resourceType":
		if raw[0] == '"' {
			s.doc.ResourceType = unquoteRaw(raw)
		}
	case "id":
		s.doc.HasID = true
		if raw[0] == '"' {
			s.doc.ID = unquoteRaw(raw)
		}
	}
}

// key reads `"name" :` inside an object, checks for duplicates, and leaves
// pos at the value.
func (s *scanner) key() bool {
	s.skipSpace()
	if s.pos >= len(s.b) {
		s.syntaxErr("unexpected end of JSON")
		return false
	}
	switch s.b[s.pos] {
	case '"':
	case '/':
		s.syntaxErr("comments are not allowed in JSON")
		return false
	default:
		s.syntaxErr("expected a member name")
		return false
	}
	start := s.pos
	if !s.str() {
		return false
	}
	name := s.b[start+1 : s.pos-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		var v string
		if json.Unmarshal(s.b[start:s.pos], &v) == nil {
			name = []byte(v)
		}
	}
	top := &s.stack[len(s.stack)-1]
	top.key = name
	top.seen |= ruleKey(name)
	top.dupKey = s.duplicate(top, name)
	if top.dupKey {
		top.seen |= keyDuplicate
		s.contentErr(validation.CodeSegmentSequence, "duplicate JSON member")
	}
	top.nkeys++
	s.skipSpace()
	if s.pos >= len(s.b) || s.b[s.pos] != ':' {
		s.syntaxErr("expected ':' after a member name")
		return false
	}
	s.pos++
	return true
}

// str reads a JSON string starting at the opening quote, checking escapes,
// control characters and UTF-8.
func (s *scanner) str() bool {
	s.pos++
	badUTF8 := false
	for s.pos < len(s.b) {
		b, i := s.b, s.pos
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if s.pos = i; i == len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			s.pos++
			if badUTF8 {
				s.syntaxErrCode(validation.CodeDataType, "invalid UTF-8")
				return false
			}
			return true
		case c == '\\':
			if s.pos+1 >= len(s.b) {
				s.syntaxErr("unexpected end of JSON")
				return false
			}
			switch s.b[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos += 2
			case 'u':
				if s.pos+6 > len(s.b) || !isHex4(s.b[s.pos+2:s.pos+6]) {
					s.syntaxErr("invalid \\u escape")
					return false
				}
				s.pos += 6
			default:
				s.syntaxErr("invalid escape")
				return false
			}
		case c < 0x20:
			s.syntaxErr("control character in a string")
			return false
		case c < utf8.RuneSelf:
			s.pos++
		default:
			r, n := utf8.DecodeRune(s.b[s.pos:])
			if r == utf8.RuneError && n <= 1 {
				badUTF8 = true
			}
			s.pos += n
		}
	}
	s.syntaxErr("unterminated string")
	return false
}

// plainByte marks the bytes a string may contain that need no further
// look: printable ASCII other than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// number reads an RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	b, i := s.b, s.pos
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
		if i < len(b) && b[i] >= '0' && b[i] <= '9' {
			s.syntaxErr("number with a leading zero")
			return false
		}
	case digits() == 0:
		s.syntaxErr("invalid number")
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			s.syntaxErr("invalid number")
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.syntaxErr("invalid number")
			return false
		}
	}
	s.pos = i
	return true
}

// skipSpace skips the four JSON whitespace characters.
func (s *scanner) skipSpace() {
	b, i := s.b, s.pos
	for i < len(b) && spaceByte[b[i]] {
		i++
	}
	s.pos = i
}

// utf8BOM is the UTF-8 byte-order mark some Windows tools put before JSON.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// withoutBOM is body without a leading byte-order mark, for the decoders
// that run after the scan (google/fhir and encoding/json refuse one). It
// aliases body; the caller's bytes are never changed.
func withoutBOM(body []byte) []byte { return bytes.TrimPrefix(body, utf8BOM) }

// spaceByte marks JSON's four whitespace characters.
var spaceByte = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func (s *scanner) syntaxErr(msg string) { s.syntaxErrCode(validation.CodeSegmentSequence, msg) }

func (s *scanner) syntaxErrCode(code validation.Code, msg string) {
	s.syntax = append(s.syntax, validation.Finding{Severity: validation.SeverityError, Code: code, Location: s.path(), Message: msg})
}

func (s *scanner) syntaxErrAt(loc, msg string) {
	s.syntax = append(s.syntax, validation.Finding{Severity: validation.SeverityError, Code: validation.CodeSegmentSequence, Location: loc, Message: msg})
}

func (s *scanner) contentErr(code validation.Code, msg string) {
	s.contentErrAt(code, s.path(), msg)
}

func (s *scanner) contentErrAt(code validation.Code, loc, msg string) {
	if len(s.content) >= maxFindings {
		return
	}
	s.content = append(s.content, validation.Finding{Severity: validation.SeverityError, Code: code, Location: loc, Message: msg})
}

// path renders the location of the value being read, relative to the
// root: ".name[0].given[1]".
func (s *scanner) path() string { return renderPath(s.stack) }

// containerPath is the location of the innermost container itself.
func (s *scanner) containerPath() string { return renderPath(s.stack[:len(s.stack)-1]) }

func renderPath(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.object {
			if f.nkeys == 0 {
				continue // no member read yet
			}
			b.WriteByte('.')
			b.WriteString(safeName(string(f.key)))
		} else {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// safeName returns a member name fit for a location: FHIR element names
// are short ASCII identifiers (optionally "_"-prefixed for primitive
// extensions); anything else could be content and is replaced by "*".
func safeName(k string) string {
	if k == "" || len(k) > 64 {
		return "*"
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "*"
		}
	}
	return k
}
