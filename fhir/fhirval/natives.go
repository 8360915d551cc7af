package fhirval

import (
	"strconv"

	"github.com/hl7gw/gateway/fhir/r4spec"
	"github.com/hl7gw/gateway/validation"
)

// This file holds the invariants checked in Go instead of FHIRPath (see
// native in typeinfo.go): ele-1 runs on every element and dom-3 walks the
// whole resource once per contained resource, which made them the bulk of
// the invariants' cost.

// elementOK is ele-1 for complex elements: an element needs a value or
// children besides its id (an empty object is the scanner's finding).
func elementOK(obj map[string]any) bool {
	if len(obj) != 1 {
		return true
	}
	_, onlyID := obj["id"]
	return !onlyID
}

// dom3 checks dom-3 on a resource with contained resources: each contained
// resource with an id must be referenced ("#id") from somewhere in the
// resource, or refer to its container ("#") itself. Where the FHIRPath
// reads only reference, canonical, uri and url elements, this reads every
// string, so it may accept a resource the expression refuses (a "#id" in
// a plain string), never the reverse.
func (d *defs) dom3(obj map[string]any, loc string) {
	contained, _ := obj["contained"].([]any)
	if len(contained) == 0 {
		return
	}
	refs := map[string]bool{}
	hashStrings(obj, refs)
	for i, c := range contained {
		cm, _ := c.(map[string]any)
		id, _ := cm["id"].(string)
		if id == "" || refs["#"+id] {
			continue
		}
		self := map[string]bool{}
		hashStrings(cm, self)
		if !self["#"] {
			d.add(validation.CodeDataType, loc+".contained["+strconv.Itoa(i)+"]", "dom-3: "+dom3Human())
		}
	}
}

// hashStrings adds every string value under v that starts with '#' to set.
func hashStrings(v any, set map[string]bool) {
	switch t := v.(type) {
	case string:
		if len(t) > 0 && t[0] == '#' {
			set[t] = true
		}
	case []any:
		for _, e := range t {
			hashStrings(e, set)
		}
	case map[string]any:
		for _, e := range t {
			hashStrings(e, set)
		}
	}
}

// dom3Human is dom-3's text from the definitions.
func dom3Human() string {
	if e := r4spec.R4().Element("DomainResource"); e != nil {
		for _, c := range e.Constraints {
			if c.Key == "dom-3" {
				return c.Human
			}
		}
	}
	return "contained resources must be referenced"
}
