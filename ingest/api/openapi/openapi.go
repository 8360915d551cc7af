// Package openapi serves the OpenAPI 3.0 document of the REST door at
// GET /openapi.json. The document (openapi.json, embedded) is generated,
// never edited: `make proto` runs protoc-gen-openapiv2 on
// proto/gateway/v1/gateway.proto and openapigen converts its output to
// OpenAPI 3.0.3 and applies overlay.yaml, the corrections the generator
// cannot express (raw FHIR and HL7 bodies, every status, headers, bearer
// security). test/openapi holds a running gateway to the document with
// schemathesis.
package openapi

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strconv"
)

//go:embed openapi.json
var document []byte

// Document returns the embedded OpenAPI document. The caller must not
// modify it.
func Document() []byte { return document }

// etag is the strong entity tag of the document: its content hash.
var etag = func() string {
	sum := sha256.Sum256(document)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// Handler answers GET and HEAD with the document as application/json,
// with an ETag, and 304 to a matching If-None-Match. Mount it on a GET
// pattern (net/http answers other methods 405).
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("ETag", etag)
		h.Set("Cache-Control", "no-cache")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(document)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(document)
		}
	})
}
