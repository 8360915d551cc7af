package fhirpath

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// tokKind classifies a lexical token.
type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokDelimIdent // `identifier`
	tokString
	tokNumber
	tokLong // 1L
	tokDateTime
	tokTime
	tokConst   // %name
	tokSpecial // $this, $index, $total
	tokOp
)

type token struct {
	kind tokKind
	text string // operator text, identifier name, unquoted string, literal body
	pos  int    // byte offset in the source
}

// SyntaxError reports a malformed expression and where it went wrong.
type SyntaxError struct {
	Pos int // byte offset
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("fhirpath: syntax error at %d: %s", e.Pos, e.Msg)
}

var (
	timeBody    = `\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?`
	zoneBody    = `(Z|[+-]\d{2}:\d{2})?`
	dateTimeLit = regexp.MustCompile(`^@\d{4}(-\d{2}(-\d{2})?)?(T(` + timeBody + zoneBody + `)?)?`)
	timeLit     = regexp.MustCompile(`^@T` + timeBody + zoneBody)
	numberLit   = regexp.MustCompile(`^\d+(\.\d+)?`)
	twoCharOps  = []string{"!=", "!~", "<=", ">="}
)

// lex splits an expression into tokens, dropping whitespace and comments.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, &SyntaxError{i, "unterminated comment"}
			}
			i += end + 4
		default:
			t, n, err := lexToken(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += n
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(src)}), nil
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func identEnd(src string, i int) int {
	for i < len(src) && isIdentPart(src[i]) {
		i++
	}
	return i
}

// lexToken reads the token at src[i:] and returns it with its length.
func lexToken(src string, i int) (token, int, error) {
	c := src[i]
	rest := src[i:]
	switch {
	case isIdentStart(c):
		e := identEnd(src, i)
		return token{tokIdent, src[i:e], i}, e - i, nil
	case c >= '0' && c <= '9':
		m := numberLit.FindString(rest)
		if len(rest) > len(m) && rest[len(m)] == 'L' && !strings.Contains(m, ".") {
			return token{tokLong, m, i}, len(m) + 1, nil
		}
		return token{tokNumber, m, i}, len(m), nil
	case c == '\'' || c == '`':
		s, n, err := unquote(src, i)
		kind := tokString
		if c == '`' {
			kind = tokDelimIdent
		}
		return token{kind, s, i}, n, err
	case c == '@':
		if m := timeLit.FindString(rest); m != "" {
			return token{tokTime, m[2:], i}, len(m), nil
		}
		if m := dateTimeLit.FindString(rest); m != "" {
			return token{tokDateTime, m[1:], i}, len(m), nil
		}
		return token{}, 0, &SyntaxError{i, "malformed date/time literal"}
	case c == '%':
		return lexConstant(src, i)
	case c == '$':
		e := identEnd(src, i+1)
		name := src[i:e]
		if name != "$this" && name != "$index" && name != "$total" {
			return token{}, 0, &SyntaxError{i, fmt.Sprintf("unknown special variable %q", name)}
		}
		return token{tokSpecial, name, i}, e - i, nil
	}
	for _, op := range twoCharOps {
		if strings.HasPrefix(rest, op) {
			return token{tokOp, op, i}, 2, nil
		}
	}
	if strings.ContainsRune(".,()[]{}+-*/|&=~<>", rune(c)) {
		return token{tokOp, string(c), i}, 1, nil
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return token{}, 0, &SyntaxError{i, fmt.Sprintf("unexpected character %q", r)}
}

func lexConstant(src string, i int) (token, int, error) {
	if i+1 < len(src) && (src[i+1] == '`' || src[i+1] == '\'') {
		s, n, err := unquote(src, i+1)
		return token{tokConst, s, i}, n + 1, err
	}
	e := identEnd(src, i+1)
	// %vs-name and %ext-name are written with hyphens in the FHIR spec.
	for e < len(src) && src[e] == '-' && e+1 < len(src) && isIdentPart(src[e+1]) {
		e = identEnd(src, e+1)
	}
	if e == i+1 {
		return token{}, 0, &SyntaxError{i, "missing constant name after %"}
	}
	return token{tokConst, src[i+1 : e], i}, e - i, nil
}

// unquote reads a '...' or `...` literal with FHIRPath escapes and returns
// its value and its length in the source.
func unquote(src string, i int) (string, int, error) {
	q := src[i]
	var b strings.Builder
	j := i + 1
	for j < len(src) {
		c := src[j]
		switch {
		case c == q:
			return b.String(), j + 1 - i, nil
		case c == '\\':
			if j+1 >= len(src) {
				return "", 0, &SyntaxError{j, "unterminated escape"}
			}
			n, err := unescapeAt(src, j, &b)
			if err != nil {
				return "", 0, err
			}
			j += n
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", 0, &SyntaxError{i, "unterminated quoted literal"}
}

func unescapeAt(src string, j int, b *strings.Builder) (int, error) {
	e := src[j+1]
	switch e {
	case '\'', '"', '`', '\\', '/':
		b.WriteByte(e)
	case 'f':
		b.WriteByte('\f')
	case 'n':
		b.WriteByte('\n')
	case 'r':
		b.WriteByte('\r')
	case 't':
		b.WriteByte('\t')
	case 'u':
		if j+6 > len(src) {
			return 0, &SyntaxError{j, "short unicode escape"}
		}
		var r rune
		if _, err := fmt.Sscanf(src[j+2:j+6], "%04x", &r); err != nil {
			return 0, &SyntaxError{j, "bad unicode escape"}
		}
		b.WriteRune(r)
		return 6, nil
	default:
		// Not an escape FHIRPath defines. R4 core invariants write regular
		// expressions with \s and \[ inside string literals, so the
		// backslash is kept rather than refused.
		b.WriteByte('\\')
		b.WriteByte(e)
	}
	return 2, nil
}
