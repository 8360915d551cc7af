package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// This file converts the Swagger 2.0 document protoc-gen-openapiv2 writes
// into OpenAPI 3.0.3, which can say what Swagger 2.0 cannot: a media type
// per response (an HL7 ACK and a plain-text refusal on one route), and a
// request body schema per media type. It converts what the generator emits
// and refuses anything else (form parameters, OAuth2 schemes, ...) rather
// than dropping it.

// errUnsupported is wrapped by every refusal of a Swagger construct the
// converter does not translate.
var errUnsupported = errors.New("unsupported swagger construct")

const (
	definitionsRef = "#/definitions/"
	schemasRef     = "#/components/schemas/"
)

// httpMethods are the operation keys of a Swagger path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch"}

// convert returns the OpenAPI 3.0.3 form of sw, a decoded Swagger 2.0
// document.
func convert(sw map[string]any) (map[string]any, error) {
	if v, _ := sw["swagger"].(string); v != "2.0" {
		return nil, fmt.Errorf("convert: swagger version %q, want 2.0: %w", v, errUnsupported)
	}
	for _, k := range []string{"host", "basePath", "schemes", "parameters", "responses"} {
		if _, ok := sw[k]; ok {
			return nil, fmt.Errorf("convert: top-level %s: %w", k, errUnsupported)
		}
	}
	sw = rewriteRefs(sw).(map[string]any)
	out := map[string]any{"openapi": "3.0.3"}
	copyKeys(out, sw, "info", "tags", "externalDocs", "security")
	copyExtensions(out, sw)
	consumes, produces := stringList(sw["consumes"]), stringList(sw["produces"])
	paths := map[string]any{}
	for p, item := range asMap(sw["paths"]) {
		conv, err := convertPathItem(asMap(item), consumes, produces)
		if err != nil {
			return nil, fmt.Errorf("convert: path %s: %w", p, err)
		}
		paths[p] = conv
	}
	out["paths"] = paths
	components := map[string]any{}
	if defs := asMap(sw["definitions"]); len(defs) > 0 {
		components["schemas"] = defs
	}
	if sd := asMap(sw["securityDefinitions"]); len(sd) > 0 {
		schemes := map[string]any{}
		for name, s := range sd {
			conv, err := convertSecurityScheme(asMap(s))
			if err != nil {
				return nil, fmt.Errorf("convert: security scheme %s: %w", name, err)
			}
			schemes[name] = conv
		}
		components["securitySchemes"] = schemes
	}
	if len(components) > 0 {
		out["components"] = components
	}
	return out, nil
}

func convertPathItem(item map[string]any, consumes, produces []string) (map[string]any, error) {
	out := map[string]any{}
	copyExtensions(out, item)
	if ps, ok := item["parameters"]; ok {
		conv, body, err := convertParameters(ps)
		if err != nil {
			return nil, err
		}
		if body != nil {
			return nil, fmt.Errorf("body parameter on a path item: %w", errUnsupported)
		}
		out["parameters"] = conv
	}
	for _, m := range httpMethods {
		op, ok := item[m]
		if !ok {
			continue
		}
		conv, err := convertOperation(asMap(op), consumes, produces)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		out[m] = conv
	}
	return out, nil
}

func convertOperation(op map[string]any, consumes, produces []string) (map[string]any, error) {
	out := map[string]any{}
	copyKeys(out, op, "summary", "description", "operationId", "tags", "deprecated", "externalDocs", "security")
	copyExtensions(out, op)
	if _, ok := op["schemes"]; ok {
		return nil, fmt.Errorf("operation schemes: %w", errUnsupported)
	}
	if c, ok := op["consumes"]; ok {
		consumes = stringList(c)
	}
	if p, ok := op["produces"]; ok {
		produces = stringList(p)
	}
	params, body, err := convertParameters(op["parameters"])
	if err != nil {
		return nil, err
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	if body != nil {
		rb := map[string]any{"content": mediaTypes(consumes, body["schema"])}
		copyKeys(rb, body, "description", "required")
		out["requestBody"] = rb
	}
	responses := map[string]any{}
	for code, r := range asMap(op["responses"]) {
		responses[code] = convertResponse(asMap(r), produces)
	}
	out["responses"] = responses
	return out, nil
}

// convertParameters splits Swagger parameters into OpenAPI 3 parameters
// (the schema keywords moved into schema) and the body parameter, if any.
func convertParameters(v any) ([]any, map[string]any, error) {
	var params []any
	var body map[string]any
	for _, p := range asList(v) {
		pm := asMap(p)
		switch in, _ := pm["in"].(string); in {
		case "body":
			body = pm
		case "path", "query", "header":
			if cf, _ := pm["collectionFormat"].(string); cf != "" && cf != "csv" && cf != "multi" {
				return nil, nil, fmt.Errorf("parameter %v collectionFormat %s: %w", pm["name"], cf, errUnsupported)
			}
			params = append(params, convertParameter(pm))
		default:
			return nil, nil, fmt.Errorf("parameter %v in %q: %w", pm["name"], in, errUnsupported)
		}
	}
	return params, body, nil
}

// schemaKeys are the Swagger 2.0 parameter and header keywords that belong
// to the schema in OpenAPI 3.
var schemaKeys = []string{"type", "format", "items", "enum", "default", "pattern", "minimum", "maximum",
	"exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "multipleOf"}

func convertParameter(p map[string]any) map[string]any {
	out := map[string]any{}
	copyKeys(out, p, "name", "in", "description", "required")
	copyExtensions(out, p)
	schema := map[string]any{}
	copyKeys(schema, p, schemaKeys...)
	out["schema"] = schema
	switch p["collectionFormat"] {
	case "multi":
		out["style"], out["explode"] = "form", true
	case "csv":
		if p["in"] == "query" {
			out["style"], out["explode"] = "form", false
		} else {
			out["style"] = "simple"
		}
	}
	return out
}

func convertResponse(r map[string]any, produces []string) map[string]any {
	out := map[string]any{}
	copyKeys(out, r, "description")
	copyExtensions(out, r)
	if hs := asMap(r["headers"]); len(hs) > 0 {
		headers := map[string]any{}
		for name, h := range hs {
			hm := asMap(h)
			conv := map[string]any{}
			copyKeys(conv, hm, "description")
			schema := map[string]any{}
			copyKeys(schema, hm, schemaKeys...)
			conv["schema"] = schema
			headers[name] = conv
		}
		out["headers"] = headers
	}
	if s, ok := r["schema"]; ok {
		out["content"] = mediaTypes(produces, s)
	}
	return out
}

func convertSecurityScheme(s map[string]any) (map[string]any, error) {
	out := map[string]any{}
	copyKeys(out, s, "description")
	switch s["type"] {
	case "apiKey":
		copyKeys(out, s, "type", "name", "in")
	case "basic":
		out["type"], out["scheme"] = "http", "basic"
	default:
		return nil, fmt.Errorf("type %v: %w", s["type"], errUnsupported)
	}
	return out, nil
}

// mediaTypes is an OpenAPI 3 content map: schema under each media type
// (application/json when the document names none).
func mediaTypes(types []string, schema any) map[string]any {
	if len(types) == 0 {
		types = []string{"application/json"}
	}
	out := map[string]any{}
	for _, t := range types {
		out[t] = map[string]any{"schema": schema}
	}
	return out
}

// rewriteRefs returns a copy of v with every Swagger definitions $ref
// pointing at components/schemas.
func rewriteRefs(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			if s, ok := e.(string); ok && k == "$ref" && strings.HasPrefix(s, definitionsRef) {
				out[k] = schemasRef + strings.TrimPrefix(s, definitionsRef)
				continue
			}
			out[k] = rewriteRefs(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = rewriteRefs(e)
		}
		return out
	default:
		return v
	}
}

func copyKeys(dst, src map[string]any, keys ...string) {
	for _, k := range keys {
		if v, ok := src[k]; ok {
			dst[k] = v
		}
	}
}

func copyExtensions(dst, src map[string]any) {
	for k, v := range src {
		if strings.HasPrefix(k, "x-") {
			dst[k] = v
		}
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func stringList(v any) []string {
	var out []string
	for _, e := range asList(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
