package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file applies the committed overlay to the converted document. The
// overlay is an OpenAPI 3 fragment in YAML, merged like a JSON Merge Patch
// (RFC 7386): objects merge key by key, a null removes the key, anything
// else replaces what was there. One exception keeps generated parameters
// generated: a parameters list merges by (name, in), so the overlay can
// add a pattern to a path parameter without restating it.

// errDanglingRef is wrapped when a $ref of the finished document points
// nowhere.
var errDanglingRef = errors.New("dangling $ref")

// decodeOverlay parses YAML into the values encoding/json decodes to:
// maps with string keys (YAML's integer keys such as response codes become
// strings), lists, strings, float64 numbers, booleans and nil.
func decodeOverlay(data []byte) (map[string]any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("decode overlay: %w", err)
	}
	js, err := json.Marshal(jsonShape(v))
	if err != nil {
		return nil, fmt.Errorf("decode overlay: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil || m == nil {
		return nil, errors.New("decode overlay: the top level is not a mapping")
	}
	return m, nil
}

func jsonShape(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = jsonShape(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = jsonShape(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonShape(e)
		}
		return out
	default:
		return v
	}
}

// merge applies patch to base and returns the result; base is modified.
func merge(base, patch any, key string) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		if key == "parameters" {
			if bl, ok := base.([]any); ok {
				if pl, ok := patch.([]any); ok {
					return mergeParameters(bl, pl)
				}
			}
		}
		return patch
	}
	bm, ok := base.(map[string]any)
	if !ok {
		bm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(bm, k)
			continue
		}
		bm[k] = merge(bm[k], v, k)
	}
	return bm
}

// mergeParameters merges each patch parameter into the base parameter of
// the same name and location (or the same $ref), and appends the others.
func mergeParameters(base, patch []any) []any {
	for _, p := range patch {
		i := indexParameter(base, parameterKey(p))
		if i < 0 {
			base = append(base, p)
			continue
		}
		base[i] = merge(base[i], p, "")
	}
	return base
}

// parameterKey identifies a parameter: its $ref, else its location and
// name.
func parameterKey(p any) string {
	pm := asMap(p)
	if ref, ok := pm["$ref"].(string); ok {
		return "$ref " + ref
	}
	return fmt.Sprintf("%v %v", pm["in"], pm["name"])
}

func indexParameter(ps []any, key string) int {
	for i, p := range ps {
		if parameterKey(p) == key {
			return i
		}
	}
	return -1
}

// checkRefs reports the first local $ref of doc (in key order) that
// resolves to nothing, so that an overlay removing a schema still in use
// fails the build.
func checkRefs(doc map[string]any) error {
	var walk func(v any, at string) error
	walk = func(v any, at string) error {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(t) {
				if s, ok := t[k].(string); ok && k == "$ref" {
					if !resolves(doc, s) {
						return fmt.Errorf("%s: %s: %w", at, s, errDanglingRef)
					}
					continue
				}
				if err := walk(t[k], at+"/"+k); err != nil {
					return err
				}
			}
		case []any:
			for i, e := range t {
				if err := walk(e, fmt.Sprintf("%s/%d", at, i)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(doc, "#")
}

// resolves reports whether ref, a local JSON pointer such as
// "#/components/schemas/X", names a value in doc.
func resolves(doc map[string]any, ref string) bool {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	var cur any = doc
	for _, tok := range strings.Split(p, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[tok]; !ok {
			return false
		}
	}
	return true
}
