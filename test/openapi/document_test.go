package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// document is the served OpenAPI document, read far enough to say whether
// an answer is documented: the operation of a method and path, its
// response for a status, that response's media types and required
// headers.
type document struct {
	raw map[string]any
}

func parseDocument(b []byte) (*document, error) {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("decode document: %w", err)
	}
	return &document{raw: raw}, nil
}

// operation finds the operation serving method and path: a path without
// parameters wins over a template, as OpenAPI 3 says.
func (d *document) operation(method, path string) (map[string]any, string, error) {
	paths, _ := d.raw["paths"].(map[string]any)
	templates := make([]string, 0, len(paths))
	for p := range paths {
		templates = append(templates, p)
	}
	sort.Slice(templates, func(i, j int) bool {
		ci, cj := strings.Count(templates[i], "{"), strings.Count(templates[j], "{")
		if ci != cj {
			return ci < cj
		}
		return templates[i] < templates[j]
	})
	for _, tpl := range templates {
		pattern := "^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tpl), `[^/]+`) + "$"
		if !regexp.MustCompile(pattern).MatchString(path) {
			continue
		}
		item, _ := paths[tpl].(map[string]any)
		op, ok := item[strings.ToLower(method)].(map[string]any)
		if !ok {
			return nil, tpl, fmt.Errorf("%s %s: path %s documents no %s: %w", method, path, tpl, method, errNoOperation)
		}
		return op, tpl, nil
	}
	return nil, "", fmt.Errorf("%s %s: no documented path", method, path)
}

// check reports how resp (with body) departs from the document: an
// undocumented status, a media type the response does not list, a
// required header missing, a JSON body that does not parse.
func (d *document) check(method, path string, resp *http.Response, body []byte) error {
	op, tpl, err := d.operation(method, path)
	if errors.Is(err, errNoOperation) && resp.StatusCode == http.StatusMethodNotAllowed {
		// A method the path does not serve: Allow lists the documented
		// ones (HEAD comes with GET).
		if got, want := resp.Header.Get("Allow"), d.methods(tpl); got != want {
			return fmt.Errorf("%s %s: 405 with Allow %q, documented methods %q", method, tpl, got, want)
		}
		return nil
	}
	if err != nil {
		return err
	}
	responses, _ := op["responses"].(map[string]any)
	r, ok := d.resolve(responses[strconv.Itoa(resp.StatusCode)])
	if !ok {
		return fmt.Errorf("%s %s: status %d is not documented", method, tpl, resp.StatusCode)
	}
	headers, _ := r["headers"].(map[string]any)
	for name, h := range headers {
		hm, _ := d.resolve(h)
		if req, _ := hm["required"].(bool); req && len(resp.Header.Values(name)) == 0 {
			return fmt.Errorf("%s %s: %d without required header %s", method, tpl, resp.StatusCode, name)
		}
	}
	content, _ := r["content"].(map[string]any)
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		// OpenAPI 3.0 cannot say that content is optional (FHIR's Prefer:
		// return=minimal): an answer without a body and a type passes.
		if len(body) > 0 {
			return fmt.Errorf("%s %s: %d has a body but no Content-Type", method, tpl, resp.StatusCode)
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("%s %s: Content-Type %q: %w", method, tpl, ct, err)
	}
	if _, ok := content[mt]; !ok {
		return fmt.Errorf("%s %s: %d answered %s; documented: %v", method, tpl, resp.StatusCode, mt, keys(content))
	}
	if strings.HasSuffix(mt, "json") && !json.Valid(body) {
		return fmt.Errorf("%s %s: %d answered %s that does not parse: %.200s", method, tpl, resp.StatusCode, mt, body)
	}
	return nil
}

// errNoOperation: the path is documented, the method is not.
var errNoOperation = errors.New("method not documented")

// methods is the Allow header of the documented path tpl: its methods in
// the order GET, HEAD (with GET), POST, PUT, DELETE, PATCH.
func (d *document) methods(tpl string) string {
	paths, _ := d.raw["paths"].(map[string]any)
	item, _ := paths[tpl].(map[string]any)
	var out []string
	for _, m := range []string{"get", "head", "post", "put", "delete", "patch"} {
		_, documented := item[m]
		if documented || m == "head" && item["get"] != nil {
			out = append(out, strings.ToUpper(m))
		}
	}
	return strings.Join(out, ", ")
}

// resolve follows a local $ref ("#/components/responses/X").
func (d *document) resolve(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	ref, isRef := m["$ref"].(string)
	if !isRef {
		return m, true
	}
	var cur any = d.raw
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		cm, _ := cur.(map[string]any)
		cur = cm[tok]
	}
	return d.resolve(cur)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestDocumentCheck(t *testing.T) {
	doc, err := parseDocument([]byte(`{"paths":{
		"/fhir/metadata":{"get":{"responses":{"200":{"description":"d","content":{"application/fhir+json":{}}}}}},
		"/fhir/{type}":{"post":{"responses":{
			"201":{"description":"d","headers":{"ETag":{"$ref":"#/components/headers/ETag"}},"content":{"application/fhir+json":{}}},
			"503":{"$ref":"#/components/responses/Unavailable"}}}}},
		"components":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}},
			"responses":{"Unavailable":{"description":"d","headers":{"Retry-After":{"required":true}},"content":{"application/fhir+json":{}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	answer := func(status int, contentType string, header ...string) *http.Response {
		r := &http.Response{StatusCode: status, Header: http.Header{}}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return r
	}
	tests := []struct {
		name         string
		method, path string
		resp         *http.Response
		body         string
		wantErr      string
	}{
		{"a documented answer passes", "POST", "/fhir/Patient", answer(201, "application/fhir+json; charset=utf-8", "ETag", `W/"1"`), `{}`, ""},
		{"a concrete path wins over a template", "GET", "/fhir/metadata", answer(200, "application/fhir+json"), `{}`, ""},
		{"an answer without a body or a type passes", "POST", "/fhir/Patient", answer(201, "", "ETag", `W/"1"`), ``, ""},
		{"headers of a referenced response are required", "POST", "/fhir/Patient", answer(503, "application/fhir+json"), `{}`, "without required header Retry-After"},
		{"an undocumented status fails", "POST", "/fhir/Patient", answer(500, "application/fhir+json"), `{}`, "status 500 is not documented"},
		{"a missing required header fails", "POST", "/fhir/Patient", answer(201, "application/fhir+json"), `{}`, "without required header ETag"},
		{"an undocumented media type fails", "POST", "/fhir/Patient", answer(201, "text/plain", "ETag", `W/"1"`), `x`, "answered text/plain"},
		{"JSON that does not parse fails", "POST", "/fhir/Patient", answer(201, "application/fhir+json", "ETag", `W/"1"`), `{`, "does not parse"},
		{"an undocumented method fails", "GET", "/fhir/Patient", answer(200, "application/fhir+json"), `{}`, "documents no GET"},
		{"405 for an undocumented method passes with the documented Allow", "GET", "/fhir/Patient", answer(405, "application/fhir+json", "Allow", "POST"), `{}`, ""},
		{"405 with HEAD beside GET passes", "POST", "/fhir/metadata", answer(405, "application/fhir+json", "Allow", "GET, HEAD"), `{}`, ""},
		{"405 with another Allow fails", "GET", "/fhir/Patient", answer(405, "application/fhir+json", "Allow", "POST, PUT"), `{}`, `Allow "POST, PUT"`},
		{"an undocumented path fails", "POST", "/v2/x", answer(200, "application/fhir+json"), `{}`, "no documented path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := doc.check(tc.method, tc.path, tc.resp, []byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
