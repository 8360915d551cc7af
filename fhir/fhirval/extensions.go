package fhirval

import (
	"slices"
	"strconv"
	"strings"

	"github.com/hl7gw/gateway/fhir/fhirpath"
	"github.com/hl7gw/gateway/fhir/r4spec"
	"github.com/hl7gw/gateway/validation"
)

// This file checks the use of the core's own extensions (the R4
// extension-definitions, package r4spec), as the HL7 Java validator does
// (InstanceValidator.checkExtension and checkExtensionContext):
//
//   - context: the element holding the extension must be one its
//     definition allows: "Element" (anywhere), a type of the holder or one
//     of its bases ("HumanName", "Resource"), or the holder's path
//     ("Patient.birthDate", "Address.line");
//   - a modifier extension is only in modifierExtension, any other only
//     in extension;
//   - the value is of a type the definition allows, and a complex
//     extension has none.
//
// Extensions the core does not define (those of implementation guides,
// or a site's own) are accepted unchecked: the gateway loads no packages
// beyond the core, and refusing them would refuse US Core data. The Java
// validator refuses them unless told which domains to allow; see the
// README.

// holder is the element that holds extensions: its type, its definition
// (nil at a resource root) and where it sits, for its path in the
// resource.
type holder struct {
	typ    string
	el     *r4spec.Element
	parent *fhirpath.Node // the node holding it; nil at the document root
	key    string         // its name in parent ("" at a resource root)
}

// extensionUse checks the extensions and modifier extensions in obj, the
// object (or a primitive's "_name" object) of element h, at loc.
func (d *defs) extensionUse(obj map[string]any, h holder, loc string) {
	for _, member := range [...]string{"extension", "modifierExtension"} {
		arr, _ := obj[member].([]any)
		for i, x := range arr {
			xm, _ := x.(map[string]any)
			url, _ := xm["url"].(string)
			def := d.spec.Extension(url)
			if def == nil {
				continue
			}
			xloc := loc + "." + member + "[" + strconv.Itoa(i) + "]"
			switch {
			case def.Modifier && member == "extension":
				d.add(validation.CodeDataType, xloc, "extension "+url+" is a modifier extension: it belongs in modifierExtension")
			case !def.Modifier && member == "modifierExtension":
				d.add(validation.CodeDataType, xloc, "extension "+url+" is not a modifier extension: it belongs in extension")
			}
			if !d.contextAllows(def, h) {
				d.add(validation.CodeDataType, xloc, "extension "+url+" is not allowed here (its contexts: "+strings.Join(def.Contexts, ", ")+")")
			}
			d.extensionValue(xm, def, xloc)
		}
	}
}

// extensionValue checks the value[x] of extension xm against def.
func (d *defs) extensionValue(xm map[string]any, def *r4spec.Extension, loc string) {
	for k := range xm {
		if len(k) <= 5 || !strings.HasPrefix(k, "value") || k[5] < 'A' || k[5] > 'Z' {
			continue
		}
		if len(def.ValueTypes) == 0 {
			d.add(validation.CodeDataType, loc+"."+safeName(k), "extension "+def.URL+" is complex: it takes sub-extensions, not a value")
			continue
		}
		suffix := k[5:]
		if !slices.ContainsFunc(def.ValueTypes, func(t string) bool { return choiceSuffix(t) == suffix }) {
			d.add(validation.CodeDataType, loc+"."+safeName(k), "extension "+def.URL+" takes a value of type "+strings.Join(def.ValueTypes, " or "))
		}
	}
}

// contextAllows reports whether def may be used on the element h.
func (d *defs) contextAllows(def *r4spec.Extension, h holder) bool {
	var path string // h's path in its resource, built on first need
	for _, ctx := range def.Contexts {
		if ctx == "Element" || ctx == "Any" {
			return true
		}
		if h.el != nil && h.el.Path == ctx {
			return true
		}
		for t := h.typ; t != ""; t = d.spec.BaseType(t) {
			if t == ctx {
				return true
			}
		}
		if path == "" {
			path = d.holderPath(h)
			if exemptFromContext(path) {
				return true
			}
		}
		if d.pathMatches(path, ctx) || h.el != nil && d.pathMatches(h.el.Path, ctx) {
			return true
		}
	}
	return false
}

// pathMatches reports whether the element path p ("Patient.name",
// "HumanName.given") is ctx, or is ctx's element on one of the first
// segment's base types ("DomainResource.text" for "Patient.text").
func (d *defs) pathMatches(p, ctx string) bool {
	head, tail, _ := strings.Cut(p, ".")
	if tail == "" {
		return false // a bare type: contextAllows walked its bases
	}
	for t := head; t != ""; t = d.spec.BaseType(t) {
		if len(ctx) == len(t)+1+len(tail) && strings.HasPrefix(ctx, t) && ctx[len(t)] == '.' && strings.HasSuffix(ctx, tail) {
			return true
		}
	}
	return false
}

// exemptFromContext: extensions inside an ElementDefinition's example
// values, fixed[x] and pattern[x] are examples of use, allowed whatever
// their contexts (as the Java validator has it).
func exemptFromContext(path string) bool {
	segs := strings.Split(path, ".")
	for i := 1; i < len(segs); i++ {
		if segs[i-1] != "element" {
			continue
		}
		s := segs[i]
		switch {
		case choiceOf(s, "fixed"), choiceOf(s, "pattern"):
			return true
		case s == "example" && i+1 < len(segs) && choiceOf(segs[i+1], "value"):
			return true
		}
	}
	return false
}

// choiceOf reports whether key is the choice element name with a type
// suffix ("fixedCode" of "fixed").
func choiceOf(key, name string) bool {
	return len(key) > len(name) && strings.HasPrefix(key, name) && key[len(name)] >= 'A' && key[len(name)] <= 'Z'
}

// holderPath is h's path from its resource's root, without indexes:
// "Patient.contact.name", "Observation.valueQuantity".
func (d *defs) holderPath(h holder) string {
	if h.key == "" {
		return h.typ
	}
	names := []string{h.key}
	n := h.parent
	for ; n != nil; n = n.Parent {
		if ti := typeOf(n.Type); ti != nil && ti.resource {
			break
		}
		names = append(names, n.Name)
	}
	if n == nil {
		return strings.Join(names, ".")
	}
	slices.Reverse(names)
	return n.Type + "." + strings.Join(names, ".")
}
