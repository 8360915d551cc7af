package main

import (
	"fmt"
	"sort"
	"strings"
)

const (
	sdPrefix      = "http://hl7.org/fhir/StructureDefinition/"
	fhirTypeExt   = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
	systemTypeURL = "http://hl7.org/fhirpath/"
)

// tables are the rows of the generated file.
type tables struct {
	types       []string // name, kind, base, abstract ("1" or "")
	elements    []string // path, min, max, types, contentReference, required value set, constraint keys
	constraints []string // key, context path, expression, human
	requiredVS  map[string]bool
	valueSets   []string // value set url, system, codes...
	unchecked   []string // value set url, reason
	extensions  []string // url, modifier ("1" or ""), contexts, value types ("-" for none)
	profiles    []string // url, constrained type
}

type constraint struct{ key, context, expr, human string }

// buildTables reads the core StructureDefinitions: the specialisations
// (primitive and complex types, resources) and the two constraint
// profiles the core uses as element types (SimpleQuantity, MoneyQuantity).
// Only each type's own elements are kept; inherited ones are found through
// the base type, as FHIRPath's model does.
func buildTables(sds []*node) (*tables, error) {
	t := &tables{requiredVS: map[string]bool{}}
	byKey := map[string]constraint{}
	profileConstraints := map[string][]string{} // profile url -> root constraint keys
	for _, sd := range sds {
		kind, deriv := sd.val("kind"), sd.val("derivation")
		if kind == "logical" || deriv == "constraint" && !coreProfile(sd.val("url")) {
			continue
		}
		name, url := sd.val("name"), sd.val("url")
		if deriv == "constraint" {
			profileConstraints[url] = nil
		}
		base := strings.TrimPrefix(sd.val("baseDefinition"), sdPrefix)
		abstract := ""
		if sd.val("abstract") == "true" {
			abstract = "1"
		}
		t.types = append(t.types, strings.Join([]string{name, kind, base, abstract}, "\t"))
		typ := sd.val("type")
		for _, el := range sd.one("snapshot").all("element") {
			p := el.val("path")
			bp := el.one("base").val("path")
			own := deriv == "constraint" && p == typ || deriv != "constraint" && (p == typ || strings.HasPrefix(bp, typ+".") || bp == typ || bp == "")
			if !own {
				continue
			}
			var keys []string
			for _, c := range el.all("constraint") {
				if c.val("severity") != "error" {
					continue
				}
				src := c.val("source")
				if src != "" && src != url {
					continue // inherited: comes with the type it was defined on
				}
				ctx := p
				if deriv == "constraint" {
					ctx = name
				}
				k := constraint{c.val("key"), ctx, c.val("expression"), c.val("human")}
				byKey[k.context+"\t"+k.key] = k // keys repeat across types (inv-1)
				keys = append(keys, k.key)
			}
			if deriv == "constraint" {
				profileConstraints[url] = keys
				t.elements = append(t.elements, strings.Join([]string{name, "", "", "", "", "", strings.Join(keys, " ")}, "\t"))
				continue
			}
			row, err := elementRow(el, p, kind == "primitive-type", keys, t.requiredVS)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			t.elements = append(t.elements, row)
		}
	}
	for k := range byKey {
		c := byKey[k]
		t.constraints = append(t.constraints, strings.Join([]string{c.key, c.context, oneLine(c.expr), oneLine(c.human)}, "\t"))
	}
	sort.Strings(t.types)
	sort.Strings(t.constraints)
	return t, nil
}

// coreProfile reports whether a constraint profile is one the core uses as
// an element's type.
func coreProfile(url string) bool {
	return url == sdPrefix+"SimpleQuantity" || url == sdPrefix+"MoneyQuantity"
}

// elementRow renders one element definition. Element types are their
// codes; a primitive's value has its System type ("System.String"), other
// System-typed elements (Element.id, Extension.url) their FHIR type; a
// type profiled to SimpleQuantity or MoneyQuantity is written as that
// profile. Only required bindings are kept.
func elementRow(el *node, p string, primitive bool, keys []string, requiredVS map[string]bool) (string, error) {
	var types []string
	for _, ty := range el.all("type") {
		code := ty.val("code")
		if ft := ty.ext(fhirTypeExt); ft != "" && (code == "" || !primitive || !strings.HasSuffix(p, ".value")) {
			code = ft
		}
		code = strings.TrimPrefix(code, systemTypeURL)
		if code == "" {
			return "", fmt.Errorf("type without a code")
		}
		for _, pr := range ty.all("profile") {
			if coreProfile(pr.value) {
				code = strings.TrimPrefix(pr.value, sdPrefix)
			}
		}
		types = append(types, code)
	}
	ref := strings.TrimPrefix(el.val("contentReference"), "#")
	vs := ""
	if b := el.one("binding"); b.val("strength") == "required" {
		vs, _, _ = strings.Cut(b.val("valueSet"), "|")
		requiredVS[vs] = true
	}
	max := el.val("max")
	return strings.Join([]string{p, el.val("min"), max, strings.Join(types, " "), ref, vs, strings.Join(keys, " ")}, "\t"), nil
}

// oneLine turns the line breaks and tabs some expressions and texts carry
// into spaces (rows are tab-separated lines).
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s)
}
