package fhirpath

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html"
	"strings"
)

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
