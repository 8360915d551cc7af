package main

import (
	"encoding/json"
	"strings"
)

// shapes records which element paths repeat and which primitives are JSON
// booleans or numbers. Paths start at the resource type: Patient.name.given.
type shapes struct {
	repeat map[string]bool
	kind   map[string]string // "boolean", "number" or "string"
}

func newShapes() *shapes {
	s := &shapes{repeat: map[string]bool{}, kind: map[string]string{}}
	for _, p := range extraRepeating {
		s.repeat[p] = true
	}
	for p, k := range extraKinds {
		s.kind[p] = k
	}
	return s
}

// learn walks an official FHIR JSON example and records its arrays and
// primitive kinds.
func (s *shapes) learn(v any, path string) {
	switch x := v.(type) {
	case map[string]any:
		if rt, ok := x["resourceType"].(string); ok {
			path = rt
		}
		for k, c := range x {
			if k == "resourceType" || strings.HasPrefix(k, "_") {
				continue
			}
			s.learn(c, path+"."+k)
		}
	case []any:
		s.repeat[path] = true
		for _, c := range x {
			s.learn(c, path)
		}
	case bool:
		s.kind[path] = "boolean"
	case json.Number:
		s.kind[path] = "number"
	case string:
		s.kind[path] = "string"
	}
}

// repeats reports whether the element at path is an array in JSON.
// Extensions, codings and a few universal lists always repeat.
func (s *shapes) repeats(path string) bool {
	if s.repeat[path] {
		return true
	}
	last := path[strings.LastIndexByte(path, '.')+1:]
	return alwaysRepeating[last]
}

// isPrimitive reports whether path was seen holding a primitive.
func (s *shapes) isPrimitive(path string) bool { return s.kind[path] != "" }

// complexResourceSlot reports the few elements named resource that hold a
// backbone element rather than a wrapped resource.
func (s *shapes) complexResourceSlot(path string) bool {
	return strings.HasPrefix(path, "CapabilityStatement.") || strings.HasPrefix(path, "ImplementationGuide.")
}

// primitive converts a value attribute to its JSON form: booleans and
// numbers by the learned kind or by a choice element's type suffix.
func (s *shapes) primitive(path, name, v string) any {
	k := s.kind[path]
	if k == "" {
		k = suffixKind(name)
	}
	switch k {
	case "boolean":
		if v == "true" || v == "false" {
			return v == "true"
		}
	case "number":
		return json.Number(v)
	}
	return v
}

func suffixKind(name string) string {
	for _, suf := range []string{"Integer", "Decimal", "PositiveInt", "UnsignedInt"} {
		if strings.HasSuffix(name, suf) && len(name) > len(suf) {
			return "number"
		}
	}
	if strings.HasSuffix(name, "Boolean") && len(name) > len("Boolean") {
		return "boolean"
	}
	return ""
}

// alwaysRepeating are element names that are 0..* wherever they occur in
// R4.
var alwaysRepeating = map[string]bool{
	"extension": true, "modifierExtension": true, "coding": true, "contained": true,
	"given": true, "line": true,
}

// extraRepeating lists the repeating elements of the suite's XML inputs
// that the official JSON examples used for learning do not show, taken
// from the R4 resource definitions (cardinality 0..*).
var extraRepeating = []string{
	"ValueSet.identifier", "ValueSet.contact", "ValueSet.contact.telecom",
	"ValueSet.useContext", "ValueSet.jurisdiction",
	"ValueSet.compose.include", "ValueSet.compose.exclude",
	"ValueSet.compose.include.concept", "ValueSet.compose.include.filter",
	"ValueSet.compose.include.valueSet",
	"ValueSet.expansion.parameter", "ValueSet.expansion.contains",
	"ValueSet.expansion.contains.contains", "ValueSet.meta.profile",
	"Parameters.parameter", "Parameters.parameter.part",
	"Patient.identifier", "Patient.name", "Patient.telecom", "Patient.address",
	"Patient.contact", "Patient.contact.telecom", "Patient.contact.relationship",
}

// extraKinds gives the JSON kind of non-string primitives that the learned
// examples do not show.
var extraKinds = map[string]string{
	"ValueSet.experimental": "boolean", "ValueSet.immutable": "boolean",
	"ValueSet.expansion.total": "number", "ValueSet.expansion.offset": "number",
	"ValueSet.expansion.contains.abstract": "boolean", "ValueSet.expansion.contains.inactive": "boolean",
	"ValueSet.expansion.contains.contains.abstract": "boolean",
	"ValueSet.compose.inactive":                     "boolean",
}
