package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestCommittedDocumentIsBuiltFromTheGeneratorOutputAndTheOverlay fails
// when openapi.json was edited by hand or overlay.yaml changed without
// `make proto`; proto-check covers the generator's side.
func TestCommittedDocumentIsBuiltFromTheGeneratorOutputAndTheOverlay(t *testing.T) {
	swagger := readFile(t, filepath.Join("..", "..", "..", "..", "proto", "gateway", "v1", "gateway.swagger.json"))
	overlay := readFile(t, filepath.Join("..", "overlay.yaml"))
	want := readFile(t, filepath.Join("..", "openapi.json"))
	got, err := build(swagger, overlay)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("ingest/api/openapi/openapi.json is stale: run 'make proto' and commit")
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		name    string
		swagger string
		want    string
		wantErr error
	}{
		{
			name: "a body parameter becomes a request body under each consumed media type",
			swagger: `{"swagger":"2.0","consumes":["application/json"],"paths":{"/x":{"post":{"operationId":"X",
				"parameters":[{"name":"body","in":"body","required":true,"description":"d","schema":{"$ref":"#/definitions/T"}}],
				"responses":{"200":{"description":"ok"}}}}},"definitions":{"T":{"type":"object"}}}`,
			want: `{"openapi":"3.0.3","paths":{"/x":{"post":{"operationId":"X",
				"requestBody":{"required":true,"description":"d","content":{"application/json":{"schema":{"$ref":"#/components/schemas/T"}}}},
				"responses":{"200":{"description":"ok"}}}}},"components":{"schemas":{"T":{"type":"object"}}}}`,
		},
		{
			name: "path parameters keep their name and move their type into a schema",
			swagger: `{"swagger":"2.0","paths":{"/x/{id}":{"delete":{"parameters":[{"name":"id","in":"path","required":true,"type":"string","pattern":"^a$"}],
				"responses":{"200":{"description":"ok","headers":{"H":{"type":"integer","description":"h"}},"schema":{"type":"string"}}}}}}}`,
			want: `{"openapi":"3.0.3","paths":{"/x/{id}":{"delete":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string","pattern":"^a$"}}],
				"responses":{"200":{"description":"ok","headers":{"H":{"description":"h","schema":{"type":"integer"}}},"content":{"application/json":{"schema":{"type":"string"}}}}}}}}}`,
		},
		{
			name: "operation media types override the document's",
			swagger: `{"swagger":"2.0","produces":["application/json"],"paths":{"/x":{"get":{"produces":["text/plain"],
				"responses":{"200":{"description":"ok","schema":{"type":"string"}}}}}}}`,
			want: `{"openapi":"3.0.3","paths":{"/x":{"get":{"responses":{"200":{"description":"ok","content":{"text/plain":{"schema":{"type":"string"}}}}}}}}}`,
		},
		{
			name:    "an API key scheme is kept and basic becomes http basic",
			swagger: `{"swagger":"2.0","paths":{},"securityDefinitions":{"k":{"type":"apiKey","name":"X-Key","in":"header"},"b":{"type":"basic"}}}`,
			want:    `{"openapi":"3.0.3","paths":{},"components":{"securitySchemes":{"k":{"type":"apiKey","name":"X-Key","in":"header"},"b":{"type":"http","scheme":"basic"}}}}`,
		},
		{
			name:    "a form parameter is refused, not dropped",
			swagger: `{"swagger":"2.0","paths":{"/x":{"post":{"parameters":[{"name":"f","in":"formData","type":"string"}],"responses":{}}}}}`,
			wantErr: errUnsupported,
		},
		{
			name:    "an OAuth2 scheme is refused",
			swagger: `{"swagger":"2.0","paths":{},"securityDefinitions":{"o":{"type":"oauth2","flow":"implicit"}}}`,
			wantErr: errUnsupported,
		},
		{
			name:    "a host is refused: OpenAPI 3 says servers",
			swagger: `{"swagger":"2.0","host":"example.org","paths":{}}`,
			wantErr: errUnsupported,
		},
		{
			name:    "an OpenAPI 3 document is not Swagger 2.0",
			swagger: `{"openapi":"3.0.3","paths":{}}`,
			wantErr: errUnsupported,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := convert(decodeJSON(t, tt.swagger))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			if want := decodeJSON(t, tt.want); !reflect.DeepEqual(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", encodeJSON(t, got), encodeJSON(t, want))
			}
		})
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name              string
		base, patch, want string
	}{
		{"mappings merge key by key", `{"a":{"b":1,"c":2}}`, `a: {c: 3, d: 4}`, `{"a":{"b":1,"c":3,"d":4}}`},
		{"a null removes the key", `{"a":{"b":1,"c":2}}`, `a: {b: null}`, `{"a":{"c":2}}`},
		{"a list replaces the list", `{"tags":["x","y"]}`, `tags: [z]`, `{"tags":["z"]}`},
		{"a scalar replaces a mapping", `{"a":{"b":1}}`, `a: 2`, `{"a":2}`},
		{"integer keys such as status codes become strings", `{"responses":{"200":{"d":"x"}}}`, `responses: {200: null, 201: {d: y}}`, `{"responses":{"201":{"d":"y"}}}`},
		{
			"parameters merge by name and location and new ones are appended",
			`{"parameters":[{"name":"id","in":"path","schema":{"type":"string"}},{"name":"id","in":"query"}]}`,
			`parameters: [{name: id, in: path, description: d}, {name: Prefer, in: header}]`,
			`{"parameters":[{"name":"id","in":"path","description":"d","schema":{"type":"string"}},{"name":"id","in":"query"},{"name":"Prefer","in":"header"}]}`,
		},
		{
			"referenced parameters are told apart by their $ref",
			`{"parameters":[{"name":"id","in":"path"}]}`,
			`parameters: [{$ref: "#/p/A"}, {$ref: "#/p/B"}, {$ref: "#/p/A"}]`,
			`{"parameters":[{"name":"id","in":"path"},{"$ref":"#/p/A"},{"$ref":"#/p/B"}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patch, err := decodeOverlay([]byte(tt.patch))
			if err != nil {
				t.Fatalf("decode overlay: %v", err)
			}
			got := merge(decodeJSON(t, tt.base), patch, "")
			if want := decodeJSON(t, tt.want); !reflect.DeepEqual(got, want) {
				t.Fatalf("got %s, want %s", encodeJSON(t, got), encodeJSON(t, want))
			}
		})
	}
}

func TestBuildRefusesADanglingRef(t *testing.T) {
	swagger := `{"swagger":"2.0","paths":{"/x":{"get":{"responses":{"200":{"description":"ok","schema":{"$ref":"#/definitions/T"}}}}}},
		"definitions":{"T":{"type":"object"}}}`
	_, err := build([]byte(swagger), []byte("components: {schemas: {T: null}}"))
	if !errors.Is(err, errDanglingRef) {
		t.Fatalf("error %v, want %v", err, errDanglingRef)
	}
	if _, err := build([]byte(swagger), []byte("info: {title: t}")); err != nil {
		t.Fatalf("build without removing T: %v", err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

func encodeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
