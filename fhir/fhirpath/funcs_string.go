package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"regexp"
	"strings"
	"unicode/utf8"
)

func init() {
	register("indexOf", 1, 1, stringFn(func(c *callExpr, s string, args []string) (Collection, error) {
		if i := strings.Index(s, args[0]); i >= 0 {
			return one(Integer(utf8.RuneCountInString(s[:i]))), nil
		}
		return one(Integer(-1)), nil
	}, 1))
	register("substring", 1, 2, fnSubstring)
	register("startsWith", 1, 1, stringFn(func(_ *callExpr, s string, a []string) (Collection, error) {
		return boolean(strings.HasPrefix(s, a[0])), nil
	}, 1))
	register("endsWith", 1, 1, stringFn(func(_ *callExpr, s string, a []string) (Collection, error) {
		return boolean(strings.HasSuffix(s, a[0])), nil
	}, 1))
	register("contains", 1, 1, stringFn(func(_ *callExpr, s string, a []string) (Collection, error) {
		return boolean(strings.Contains(s, a[0])), nil
	}, 1))
	register("upper", 0, 0, stringFn(func(_ *callExpr, s string, _ []string) (Collection, error) {
		return one(String(strings.ToUpper(s))), nil
	}, 0))
	register("lower", 0, 0, stringFn(func(_ *callExpr, s string, _ []string) (Collection, error) {
		return one(String(strings.ToLower(s))), nil
	}, 0))
	register("replace", 2, 2, stringFn(func(_ *callExpr, s string, a []string) (Collection, error) {
		return one(String(strings.ReplaceAll(s, a[0], a[1]))), nil
	}, 2))
	register("matches", 1, 1, stringFn(func(c *callExpr, s string, a []string) (Collection, error) {
		re, err := compileRegex(c, "(?s)"+a[0])
		if err != nil {
			return nil, err
		}
		return boolean(re.MatchString(s)), nil
	}, 1))
	register("matchesFull", 1, 1, stringFn(func(c *callExpr, s string, a []string) (Collection, error) {
		re, err := compileRegex(c, "(?s)^(?:"+a[0]+")$")
		if err != nil {
			return nil, err
		}
		return boolean(re.MatchString(s)), nil
	}, 1))
	register("replaceMatches", 2, 2, stringFn(func(c *callExpr, s string, a []string) (Collection, error) {
		if a[0] == "" {
			return one(String(s)), nil
		}
		re, err := compileRegex(c, "(?s)"+a[0])
		if err != nil {
			return nil, err
		}
		return one(String(re.ReplaceAllString(s, a[1]))), nil
	}, 2))
	register("length", 0, 0, stringFn(func(_ *callExpr, s string, _ []string) (Collection, error) {
		return one(Integer(utf8.RuneCountInString(s))), nil
	}, 0))
	register("toChars", 0, 0, stringFn(func(_ *callExpr, s string, _ []string) (Collection, error) {
		var out Collection
		for _, r := range s {
			out = append(out, String(string(r)))
		}
		return out, nil
	}, 0))
	register("trim", 0, 0, stringFn(func(_ *callExpr, s string, _ []string) (Collection, error) {
		return one(String(strings.TrimSpace(s))), nil
	}, 0))
	register("split", 1, 1, stringFn(func(_ *callExpr, s string, a []string) (Collection, error) {
		var out Collection
		for _, p := range strings.Split(s, a[0]) {
			out = append(out, String(p))
		}
		return out, nil
	}, 1))
	register("join", 0, 1, fnJoin)
}

// stringFn adapts a function of the input string and nargs string
// arguments. An empty input or argument gives an empty result; a non-string
// input is an error.
func stringFn(fn func(c *callExpr, s string, args []string) (Collection, error), nargs int) func(*callExpr, *evalCtx, Collection, *frame) (Collection, error) {
	return func(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
		s, ok, err := c.stringInput(f)
		if !ok || err != nil {
			return nil, err
		}
		args := make([]string, nargs)
		for i := range nargs {
			a, ok, err := c.stringArg(ec, i, fr)
			if !ok || err != nil {
				return nil, err
			}
			args[i] = a
		}
		out, err := fn(c, s, args)
		if err == nil && len(out) == 1 {
			if r, ok := out[0].(String); ok && len(r) > maxStringLen {
				return nil, &EvalError{Pos: c.pos, Msg: c.name + "()", Err: errTooLarge}
			}
		}
		return out, err
	}
}

// compileRegex compiles with Go's RE2 syntax. RE2 has no backreferences or
// lookaround, which Java's engine (used by the reference implementation)
// accepts; such patterns are evaluation errors here.
func compileRegex(c *callExpr, pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, &EvalError{Pos: c.pos, Msg: c.name + "(): bad regular expression", Err: err}
	}
	return re, nil
}

func fnSubstring(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	s, ok, err := c.stringInput(f)
	if !ok || err != nil {
		return nil, err
	}
	start, ok, err := c.intArg(ec, 0, fr)
	if !ok || err != nil {
		return nil, err
	}
	runes := []rune(s)
	if start < 0 || start >= int64(len(runes)) {
		return nil, nil
	}
	end := int64(len(runes))
	if len(c.args) > 1 {
		n, ok, err := c.intArg(ec, 1, fr)
		if err != nil {
			return nil, err
		}
		if ok {
			end = min(start+max(n, 0), end)
		}
	}
	return one(String(string(runes[start:end]))), nil
}

func fnJoin(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	sep := ""
	if len(c.args) > 0 {
		s, _, err := c.stringArg(ec, 0, fr)
		if err != nil {
			return nil, err
		}
		sep = s
	}
	parts := make([]string, 0, len(f))
	for _, v := range f {
		s, ok := asString(v)
		if !ok {
			return nil, c.errorf("item is %s, expected a string", typeName(v))
		}
		parts = append(parts, s)
	}
	joined := strings.Join(parts, sep)
	if len(joined) > maxStringLen {
		return nil, &EvalError{Pos: c.pos, Msg: c.name + "()", Err: errTooLarge}
	}
	return one(String(joined)), nil
}

// htmlEscaper escapes the five XML special characters with their entity
// names, as the FHIRPath reference implementation does.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func init() {
	register("encode", 1, 1, stringFn(func(c *callExpr, s string, a []string) (Collection, error) {
		switch a[0] {
		case "base64":
			return one(String(base64.StdEncoding.EncodeToString([]byte(s)))), nil
		case "urlbase64":
			return one(String(base64.URLEncoding.EncodeToString([]byte(s)))), nil
		case "hex":
			return one(String(hex.EncodeToString([]byte(s)))), nil
		}
		return nil, c.errorf("unknown encoding %q", a[0])
	}, 1))
	register("decode", 1, 1, stringFn(func(c *callExpr, s string, a []string) (Collection, error) {
		var (
			b   []byte
			err error
		)
		switch a[0] {
		case "base64":
			b, err = base64.StdEncoding.DecodeString(s)
		case "urlbase64":
			b, err = base64.URLEncoding.DecodeString(s)
		case "hex":
			b, err = hex.DecodeString(s)
		default:
			return nil, c.errorf("unknown encoding %q", a[0])
		}
		if err != nil {
			return nil, nil
		}
		return one(String(b)), nil
	}, 1))
	register("escape", 1, 1, stringFn(func(c *callExpr, s string, a []string) (Collection, error) {
		switch a[0] {
		case "html":
			return one(String(htmlEscaper.Replace(s))), nil
		case "json":
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s)
			out := strings.TrimSuffix(b.String(), "\n")
			return one(String(out[1 : len(out)-1])), nil
		}
		return nil, c.errorf("unknown escape target %q", a[0])
	}, 1))
	register("unescape", 1, 1, stringFn(func(c *callExpr, s string, a []string) (Collection, error) {
		switch a[0] {
		case "html":
			return one(String(html.UnescapeString(s))), nil
		case "json":
			var out string
			if err := json.Unmarshal([]byte(`"`+strings.ReplaceAll(s, `"`, `\"`)+`"`), &out); err != nil {
				return nil, nil
			}
			return one(String(out)), nil
		}
		return nil, c.errorf("unknown escape target %q", a[0])
	}, 1))
}
