package fhirval

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"sort"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/internal/corpus"
)

// quietBody is what check decides before skipping google/fhir: the body
// scans without findings and quietForGoogle holds for its decode.
func quietBody(body []byte) bool {
	_, syntax, content := scan(body, 0)
	if len(syntax) > 0 || len(content) > 0 {
		return false
	}
	v, ok := decodeGeneric(withoutBOM(body))
	return ok && quietForGoogle(v, withoutBOM(body))
}

// assertGoogleQuiet fails when quietBody holds for body and google/fhir
// reports something: the one thing skipping it must never hide.
func assertGoogleQuiet(t *testing.T, name string, body []byte) bool {
	t.Helper()
	if !quietBody(body) {
		return false
	}
	if fs := unmarshalFindings(withoutBOM(body)); len(fs) > 0 {
		t.Errorf("%s: judged quiet, google/fhir reports %v\n%s", name, fs, body)
	}
	return true
}

func TestQuietResourcesAreQuietForGoogle(t *testing.T) {
	valid, quiet := 0, 0
	for _, c := range corpus.Cases(t, corpus.FHIR) {
		q := assertGoogleQuiet(t, c.File, c.Read(t))
		if c.Verdict == corpus.Valid {
			valid++
			if q {
				quiet++
			}
		}
	}
	t.Logf("%d of %d valid corpus resources skip google/fhir", quiet, valid)
	// The corpus's valid resources are mostly what clients send; when
	// fewer than half take the quiet path, the fast path has stopped
	// paying for itself and the change that did it should say why.
	if quiet*2 < valid {
		t.Errorf("only %d of %d valid corpus resources judged quiet", quiet, valid)
	}
}

// TestQuietMutationsAreQuietForGoogle mutates the quiet corpus resources
// one value, key or shape at a time, toward what google/fhir refuses
// (formats at their edges, wrong codes, references to other types, keys it
// does not know, arrays for singles and back, missing required
// elements), and checks every mutant judged quiet against google/fhir.
func TestQuietMutationsAreQuietForGoogle(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	perResource := 40
	if raceBuild {
		perResource = 4
	}
	mutants, quiet, refusedLoud := 0, 0, 0
	for _, c := range corpus.Select(t, corpus.FHIR, corpus.Valid) {
		body := c.Read(t)
		if !quietBody(body) {
			continue
		}
		var root any
		dec := json.NewDecoder(bytes.NewReader(withoutBOM(body)))
		dec.UseNumber()
		if err := dec.Decode(&root); err != nil {
			t.Fatalf("%s: %v", c.File, err)
		}
		sites := mutationSites(root)
		for i := 0; i < perResource; i++ {
			s := sites[rng.Intn(len(sites))]
			mut := s.mutate(rng)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // keep \u escapes out, or no base64 value would be judged quiet
			if err := enc.Encode(mut(root)); err != nil {
				t.Fatalf("%s: %v", c.File, err)
			}
			out := buf.Bytes()
			mutants++
			if assertGoogleQuiet(t, c.File+" mutant", out) {
				quiet++
			} else if i%8 == 0 && len(unmarshalFindings(out)) > 0 {
				refusedLoud++
			}
		}
	}
	t.Logf("%d mutants, %d judged quiet and checked against google/fhir; %d sampled others google refuses", mutants, quiet, refusedLoud)
	// About 15% of the mutants stay quiet, and google/fhir refuses most of
	// the others (every eighth is asked).
	if quiet*10 < mutants || refusedLoud*16 < mutants {
		t.Errorf("the mutations no longer exercise both sides: %d quiet, %d refused", quiet, refusedLoud)
	}
}

// site is one place in a decoded document and the edits that apply there.
type site struct {
	path []any // keys (string) and indexes (int) from the root
	val  any
	key  string // the last key, when the site is an object member
}

func mutationSites(root any) []site {
	var out []site
	var walk func(path []any, v any, key string)
	walk = func(path []any, v any, key string) {
		out = append(out, site{path: append([]any(nil), path...), val: v, key: key})
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(append(path, k), x[k], k)
			}
		case []any:
			for i, e := range x {
				walk(append(path, i), e, "")
			}
		}
	}
	walk(nil, root, "")
	return out
}

// edgeStrings sit on or beside the edges of google/fhir's formats.
var edgeStrings = []string{
	"", " ", "a b", " a", "a ", "a  b", "a\u0001b", "a\tb", "a\u000bb", "é",
	"Patient/1", "Practitioner/1", "Group/x", "Device/d", "Encounter/e", "Patient/1/_history/2", "Patient/1/x/2",
	"Unknown/1", "#p1", "#", "Patient/", "/1", "http://example.org/a b", "http://[::1", "%zz", "urn:oid:1.2.3",
	"urn:oid:1.02", "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e", "urn:uuid:0F8FAD5B-D9CB-469F-A165-70867728950E",
	"2020", "0999", "2020-13", "2020-00", "2020-02-29", "2021-02-29", "2020-04-31", "2020-01-01T10:00:00Z",
	"2020-01-01T10:00:00", "2020-01-01T10:00Z", "2020-01-01T24:00:00Z", "2020-01-01T10:00:60Z",
	"2020-01-01T10:00:00+14:00", "2020-01-01T10:00:00+14:30", "2020-01-01T10:00:00-13:59",
	"2020-01-01T10:00:00.123456Z", "2020-01-01T10:00:00.1234567Z", "2020-01-01T10:00:00.Z", "2020-1-01",
	"10:00", "10:00:00", "10:00:00.5", "25:00:00", "male", "MALE", "Male", "m", "final", "Final", "in-progress",
	"in_progress", "<", "<=", "lt", "generated", "official", "home", "true", strings.Repeat("x", 65),
	strings.Repeat("y", 64), "a.b-C9", "a/b",
	"QUJD", "QUI=", "QQ==", "Q===", "QUJ", "QU JD", "QUJD\n", "QU=D", "-_==",
}

// edgeNumbers are JSON numbers at the edges of integer, positiveInt,
// unsignedInt and decimal.
var edgeNumbers = []json.Number{"0", "-0", "1", "-1", "2147483647", "2147483648", "999999999", "1000000000", "1.5", "-0.0", "1e3", "1E-2", "1.0", "0.10"}

func (s site) mutate(rng *rand.Rand) func(any) any {
	var repl any
	switch v := s.val.(type) {
	case string:
		repl = pick(rng, []any{edgeStrings[rng.Intn(len(edgeStrings))], edgeNumbers[rng.Intn(len(edgeNumbers))], true, []any{v}, map[string]any{"value": v}})
	case json.Number:
		repl = pick(rng, []any{edgeNumbers[rng.Intn(len(edgeNumbers))], string(v), []any{v}})
	case bool:
		repl = pick(rng, []any{"true", json.Number("1"), []any{v}})
	case []any:
		repl = pick(rng, []any{v[0], []any{}, append(append([]any(nil), v...), v[0])})
	case map[string]any:
		if len(s.path) == 0 || rng.Intn(2) == 0 {
			return s.editKeys(rng)
		}
		repl = pick(rng, []any{[]any{v}, "x"})
	}
	return func(root any) any { return replaceAt(root, s.path, repl) }
}

// editKeys renames, removes or adds a member of the object at s.
func (s site) editKeys(rng *rand.Rand) func(any) any {
	obj := s.val.(map[string]any)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	k := keys[rng.Intn(len(keys))]
	m := make(map[string]any, len(obj)+1)
	for kk, vv := range obj {
		m[kk] = vv
	}
	switch rng.Intn(5) {
	case 0:
		delete(m, k)
	case 1:
		delete(m, k)
		m[strings.ToUpper(k[:1])+k[1:]] = obj[k]
	case 2:
		m["_"+k] = map[string]any{"extension": []any{map[string]any{"url": "http://example.org/x", "valueString": "x"}}}
	case 3:
		m[k+"X"] = obj[k]
	default:
		m[pick(rng, []any{"valueString", "valueQuantity", "resourceType", "fhir_comments", "extension", "modifierExtension", "contained"}).(string)] =
			pick(rng, []any{"x", map[string]any{"value": json.Number("1")}, []any{map[string]any{"url": "http://example.org/x"}}})
	}
	return func(root any) any { return replaceAt(root, s.path, m) }
}

func pick(rng *rand.Rand, xs []any) any { return xs[rng.Intn(len(xs))] }

// replaceAt returns a copy of root with the value at path replaced by v;
// only the containers along the path are copied.
func replaceAt(root any, path []any, v any) any {
	if len(path) == 0 {
		return v
	}
	switch x := root.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		k := path[0].(string)
		m[k] = replaceAt(x[k], path[1:], v)
		return m
	case []any:
		a := append([]any(nil), x...)
		i := path[0].(int)
		a[i] = replaceAt(x[i], path[1:], v)
		return a
	}
	return root
}

func TestEscapedBase64IsLeftToGoogle(t *testing.T) {
	plain := []byte(`{"resourceType":"Binary","contentType":"text/plain","data":"QUJD"}`)
	if !quietBody(plain) {
		t.Fatal("plain base64 not judged quiet")
	}
	// google/fhir decodes base64Binary from the raw JSON text, so an
	// escaped character is not base64 to it.
	for _, body := range []string{
		`{"resourceType":"Binary","contentType":"text/plain","data":"QU\u004aD"}`,
		`{"resourceType":"Binary","contentType":"text/plain","data":"QUJ\/"}`,
	} {
		if quietBody([]byte(body)) {
			t.Errorf("%s judged quiet", body)
		}
		if len(unmarshalFindings([]byte(body))) == 0 {
			t.Errorf("google/fhir accepts %s: the escape rule is stricter than needed", body)
		}
	}
}

func FuzzQuietImpliesGoogleQuiet(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Binary","contentType":"text/plain","data":"QU\u004aD"}`))
	f.Add([]byte(`{"resourceType":"Patient","gender":"male","birthDate":"2020-02-29"}`))
	f.Add([]byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"},"valueQuantity":{"value":1.5}}`))
	for _, file := range fuzzSeedValid {
		f.Add(corpus.Read(f, corpus.FHIR, file))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		assertGoogleQuiet(t, "fuzz input", body)
	})
}

func TestQuietFormats(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   func(string) bool
		in   string
		want bool
	}{
		{"a leap day is a date in a leap year", quietDate, "2024-02-29", true},
		{"a leap day is not a date in other years", quietDate, "2023-02-29", false},
		{"a month alone is a date", quietDate, "2024-02", true},
		{"a three-digit year is left to google/fhir", quietDate, "0999", false},
		{"a dateTime with a time needs a zone", func(s string) bool { return quietDateTime(s, false) }, "2024-01-01T10:00:00", false},
		{"a dateTime may carry microseconds", func(s string) bool { return quietDateTime(s, false) }, "2024-01-01T10:00:00.123456+01:00", true},
		{"seven fraction digits are left to google/fhir", func(s string) bool { return quietDateTime(s, false) }, "2024-01-01T10:00:00.1234567Z", false},
		{"an offset past 14:00 is refused", func(s string) bool { return quietDateTime(s, false) }, "2024-01-01T10:00:00+14:30", false},
		{"an instant is never a bare date", func(s string) bool { return quietDateTime(s, true) }, "2024-01-01", false},
		{"a time has seconds", quietTime, "10:00", false},
		{"a code has no doubled space", quietCode, "a  b", false},
		{"a code may hold single spaces", quietCode, "a b", true},
		{"an id is at most 64 characters", ValidID, strings.Repeat("a", 65), false},
		{"a string has no vertical tab", quietString, "a\vb", false},
		{"a string may hold tabs and line ends", quietString, "a\tb\r\n", true},
		{"an integer has at most nine digits", func(s string) bool { return quietInt(s, true, true) }, "1000000000", false},
		{"minus zero is left to google/fhir", func(s string) bool { return quietInt(s, true, true) }, "-0", false},
		{"a positiveInt is not zero", func(s string) bool { return quietInt(s, false, false) }, "0", false},
		{"a decimal keeps its trailing zeros", quietDecimal, "1.50", true},
		{"a decimal may have an exponent", quietDecimal, "1.5E-3", true},
		{"an exponent has digits", quietDecimal, "1e+", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ok(tc.in); got != tc.want {
				t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
