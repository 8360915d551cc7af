package fhir

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hl7gw/gateway/fhir/fhirval"
	"github.com/hl7gw/gateway/internal/corpus"
)

func TestStoredForm(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	refs := map[string]string{"urn:uuid:p1": "Patient/a1", "http://other/fhir/Encounter/9": "Encounter/e2"}
	tests := []struct {
		name, body, want string
		refs             map[string]string
	}{
		{
			name: "a resource without id or meta gets both after resourceType, other members untouched",
			body: `{"resourceType":"Patient", "birthDate": "1970-01-01" ,"active":true}`,
			want: `{"resourceType":"Patient","id":"new","meta":{"versionId":"v1","lastUpdated":"2026-01-02T03:04:05.006Z"},"birthDate":"1970-01-01","active":true}`,
		},
		{
			name: "an id and meta already there are set in place, other meta members kept",
			body: `{"meta":{"profile":["http://x/p"],"versionId":"old"},"id":"new","resourceType":"Patient"}`,
			want: `{"meta":{"profile":["http://x/p"],"versionId":"v1","lastUpdated":"2026-01-02T03:04:05.006Z"},"id":"new","resourceType":"Patient"}`,
		},
		{
			name: "values keep their bytes: numbers, escapes and inner whitespace",
			body: `{"resourceType":"Observation","valueQuantity":{ "value": 1.50 },"note":[{"text":"caf\u00e9 \"q\""}]}`,
			want: `{"resourceType":"Observation","id":"new","meta":{"versionId":"v1","lastUpdated":"2026-01-02T03:04:05.006Z"},"valueQuantity":{ "value": 1.50 },"note":[{"text":"caf\u00e9 \"q\""}]}`,
		},
		{
			name: "references to the transaction's fullUrls are rewritten, escaped or not; others are kept",
			refs: refs,
			body: `{"resourceType":"Observation","subject":{"reference" : "urn:uuid:p1"},"encounter":{"reference":"http:\/\/other\/fhir\/Encounter\/9"},"performer":[{"reference":"Practitioner/7"}]}`,
			want: `{"resourceType":"Observation","id":"new","meta":{"versionId":"v1","lastUpdated":"2026-01-02T03:04:05.006Z"},"subject":{"reference" : "Patient/a1"},"encounter":{"reference":"Encounter/e2"},"performer":[{"reference":"Practitioner/7"}]}`,
		},
		{
			name: "an escaped member name is matched by its value and kept as written",
			body: "{\"resourceType\":\"Patient\",\r\n\t\"\\u0069d\" : \"old\" }",
			want: `{"resourceType":"Patient","\u0069d":"new","meta":{"versionId":"v1","lastUpdated":"2026-01-02T03:04:05.006Z"}}`,
		},
		{
			name: "a reference-like text inside a string is not a reference",
			refs: refs,
			body: `{"resourceType":"Observation","note":[{"text":"\"reference\":\"urn:uuid:p1\""}]}`,
			want: `{"resourceType":"Observation","id":"new","meta":{"versionId":"v1","lastUpdated":"2026-01-02T03:04:05.006Z"},"note":[{"text":"\"reference\":\"urn:uuid:p1\""}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StoredForm([]byte(tt.body), "new", "v1", at, tt.refs)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("stored form\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`["not","an","object"]`, `{"a":1} {}`, `{"a":}`, `{"a":1,}`, `{"a" 1}`, `{"a":"x`, ``} {
		if got, err := StoredForm([]byte(bad), "x", "v", at, nil); err == nil {
			t.Errorf("%q was given a stored form: %s", bad, got)
		}
	}
}

// TestStoredFormOfTheCorpus: for every valid example of the project's FHIR
// corpus, the stored form decodes to the example with id and meta set,
// nothing else changed.
func TestStoredFormOfTheCorpus(t *testing.T) {
	cases := corpus.Select(t, corpus.FHIR, corpus.Valid)
	if len(cases) < 500 {
		t.Fatalf("corpus of %d valid files", len(cases))
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range cases {
		f, body := c.File, c.Read(t)
		got, err := StoredForm(body, "stored-id", "v9", at, nil)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		var a, b map[string]any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Errorf("%s: stored form is not JSON: %v", f, err)
			continue
		}
		if err := json.Unmarshal(bytes.TrimPrefix(body, utf8BOM), &b); err != nil {
			t.Fatal(err)
		}
		meta, _ := b["meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		meta["versionId"], meta["lastUpdated"] = "v9", "2026-01-02T03:04:05.000Z"
		b["meta"], b["id"] = meta, "stored-id"
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: stored form changed more than id and meta", f)
		}
	}
}

// BenchmarkStoredForm measures the stored form of the official Patient
// example beside the strict validation every create already pays.
func BenchmarkStoredForm(b *testing.B) {
	body := corpus.Read(b, corpus.FHIR, "valid/r4ex-Patient-example.json")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b.Run("stored form", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := StoredForm(body, "example", "0b7c4e2a-1f3d-4c5e-9a8b-7d6e5f4a3b2c", at, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strict validation", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			fhirval.Check(body, fhirval.Options{Strict: true})
		}
	})
}
