package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		ifNoneMatch string
		wantStatus  int
		wantBody    []byte
	}{
		{"GET answers the whole embedded document", http.MethodGet, "", http.StatusOK, document},
		{"HEAD answers the headers without a body", http.MethodHead, "", http.StatusOK, nil},
		{"a matching If-None-Match is answered 304 without a body", http.MethodGet, etag, http.StatusNotModified, nil},
		{"a stale If-None-Match gets the document", http.MethodGet, `"stale"`, http.StatusOK, document},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/openapi.json", nil)
			if tt.ifNoneMatch != "" {
				r.Header.Set("If-None-Match", tt.ifNoneMatch)
			}
			w := httptest.NewRecorder()
			Handler().ServeHTTP(w, r)
			res := w.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if !bytes.Equal(body, tt.wantBody) {
				t.Fatalf("body of %d bytes, want %d", len(body), len(tt.wantBody))
			}
			if got := res.Header.Get("ETag"); got != etag {
				t.Fatalf("ETag %q, want %q", got, etag)
			}
			if tt.wantStatus == http.StatusOK && res.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("Content-Type %q, want application/json", res.Header.Get("Content-Type"))
			}
		})
	}
}

// TestDocumentDescribesTheRESTDoor checks the embedded document's shape:
// OpenAPI 3.0, raw FHIR and HL7 request bodies, and on every door route
// the refusals that every request can get, each with a body or a header
// the client can rely on.
func TestDocumentDescribesTheRESTDoor(t *testing.T) {
	type operation struct {
		RequestBody struct {
			Content map[string]any `json:"content"`
		} `json:"requestBody"`
		Responses map[string]any `json:"responses"`
		Security  []map[string][]string
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(document, &doc); err != nil {
		t.Fatalf("decode document: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi %q, want 3.0.3", doc.OpenAPI)
	}
	routes := []struct {
		method, path, mediaType string
		statuses                []string
	}{
		{"post", "/v1/hl7", "application/hl7-v2", []string{"200", "400", "401", "403", "413", "415", "422", "503"}},
		{"post", "/fhir", "application/fhir+json", []string{"200", "400", "401", "403", "413", "415", "422", "503"}},
		{"post", "/fhir/{resourceType}", "application/fhir+json", []string{"201", "400", "401", "403", "413", "415", "422", "503"}},
		{"put", "/fhir/{resourceType}/{id}", "application/fhir+json", []string{"200", "400", "401", "403", "413", "415", "422", "503"}},
		{"delete", "/fhir/{resourceType}/{id}", "", []string{"200", "204", "400", "401", "403", "503"}},
	}
	for _, r := range routes {
		raw, ok := doc.Paths[r.path][r.method]
		if !ok {
			t.Errorf("%s %s is not documented", r.method, r.path)
			continue
		}
		var op operation
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		if r.mediaType != "" && op.RequestBody.Content[r.mediaType] == nil {
			t.Errorf("%s %s: request body %s is not documented", r.method, r.path, r.mediaType)
		}
		if _, ok := op.RequestBody.Content["application/json"]; ok && r.path == "/v1/hl7" {
			t.Errorf("%s %s documents a JSON request body", r.method, r.path)
		}
		for _, s := range r.statuses {
			if op.Responses[s] == nil {
				t.Errorf("%s %s: status %s is not documented", r.method, r.path, s)
			}
		}
		if len(op.Security) != 1 || op.Security[0]["bearer"] == nil {
			t.Errorf("%s %s: security %v, want bearer", r.method, r.path, op.Security)
		}
	}
}
