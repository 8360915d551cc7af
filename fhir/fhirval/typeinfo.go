package fhirval

import (
	"slices"
	"strings"
	"sync"

	"github.com/hl7gw/gateway/fhir/fhirpath"
	"github.com/hl7gw/gateway/fhir/r4spec"
)

// typeInfo is what the definitions walk needs about one type (a type name
// or a backbone element's path), gathered from r4spec once: its elements
// by JSON name (own and inherited), the mandatory ones, and the compiled
// invariants of its root and its bases' roots.
type typeInfo struct {
	name       string
	elems      map[string]*r4spec.Element // by name without [x]
	required   []*r4spec.Element
	invariants []*invariant
	resource   bool
}

// invariant is a compiled error-severity constraint.
type invariant struct {
	c    *r4spec.Constraint
	expr *fhirpath.Expression // nil when the engine refused it
	// holds, when set, is a sufficient condition on the element's
	// object: true means the invariant holds unevaluated (shortcuts.go).
	holds func(obj map[string]any) bool
}

var (
	types sync.Map // type name -> *typeInfo, nil for names the core lacks

	invOnce           sync.Once
	elementInvariants map[*r4spec.Element][]*invariant
)

// typeOf returns the typeInfo of typ, building it on first use; nil for a
// name the core does not define.
func typeOf(typ string) *typeInfo {
	if ti, ok := types.Load(typ); ok {
		return ti.(*typeInfo)
	}
	ti, _ := types.LoadOrStore(typ, buildType(typ))
	return ti.(*typeInfo)
}

func buildType(typ string) *typeInfo {
	s := r4spec.R4()
	if s.Type(typ) == nil && s.Element(typ) == nil {
		return nil
	}
	ti := &typeInfo{name: typ, elems: s.Members(typ)}
	for _, e := range ti.elems {
		if e.Min > 0 {
			ti.required = append(ti.required, e)
		}
	}
	slices.SortFunc(ti.required, func(a, b *r4spec.Element) int { return strings.Compare(a.Name, b.Name) })
	for t := typ; t != ""; t = s.BaseType(t) {
		if t == "Resource" {
			ti.resource = true
		}
		if strings.Contains(t, ".") {
			continue // a backbone element's own constraints come with its element
		}
		if root := s.Element(t); root != nil {
			ti.invariants = append(ti.invariants, compiled(root)...)
		}
	}
	return ti
}

// compiled returns the compiled invariants of element e, compiling every
// invariant of the specification once, on first use. Those in native are
// checked in Go instead.
func compiled(e *r4spec.Element) []*invariant {
	invOnce.Do(compileAll)
	return elementInvariants[e]
}

// compileAll compiles every constraint of every element against the
// model, for its context type.
func compileAll() {
	s := r4spec.R4()
	elementInvariants = map[*r4spec.Element][]*invariant{}
	seen := map[string]bool{}
	var visit func(path string)
	visit = func(path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		if e := s.Element(path); e != nil {
			for _, c := range e.Constraints {
				if native[c.Context+" "+c.Key] {
					continue
				}
				src := c.Expression
				if fixed, ok := errata[c.Context+" "+c.Key]; ok {
					src = fixed
				}
				inv := &invariant{c: c, holds: shortcuts[src]}
				if ctx := contextType(s, e); ctx != "" {
					inv.expr, _ = fhirpath.CompileFor(src, ctx, s)
				} else {
					inv.expr, _ = fhirpath.Compile(src)
				}
				elementInvariants[e] = append(elementInvariants[e], inv)
			}
		}
		for _, ch := range s.Children(path) {
			visit(ch.Path)
		}
	}
	s.Types(func(t *r4spec.Type) { visit(t.Name) })
}

// native are the invariants checked in Go rather than by FHIRPath, for
// speed (see elementOK and containedReferenced); their results are the
// same on every document.
var native = map[string]bool{
	"Element ele-1":           true,
	"Element.extension ele-1": true,
	"DomainResource dom-3":    true,
}

// errata replace R4 4.0.1 invariants that are wrong as published, by
// context and key, with the expression later releases publish.
var errata = map[string]string{
	// R4 writes "answer is Boolean", which by FHIRPath's type rules (the
	// official suite's testType12) is never true of a FHIR boolean, so
	// every enableWhen with operator 'exists' would fail, the R4 example
	// Questionnaire bb included. R4B and R5 publish "answer is boolean".
	"Questionnaire.item.enableWhen que-7": "operator = 'exists' implies (answer is boolean)",
}

// contextType is the FHIRPath type of an element: the type's name at a
// root, else the element's single type ("" for choices).
func contextType(s *r4spec.Spec, e *r4spec.Element) string {
	if !strings.Contains(e.Path, ".") {
		return e.Path
	}
	if e.Choice || len(e.Types) > 1 {
		return ""
	}
	return e.ElementTypeName()
}

// member finds the element a JSON key names in ti: the element itself, or
// a choice element with the type suffix ("valueQuantity" -> value[x] of
// type Quantity). typ is the element's type for this key.
func (ti *typeInfo) member(key string) (e *r4spec.Element, typ string) {
	if e := ti.elems[key]; e != nil && !e.Choice {
		return e, e.ElementTypeName()
	}
	for i := 1; i < len(key); i++ {
		if key[i] < 'A' || key[i] > 'Z' {
			continue
		}
		e := ti.elems[key[:i]]
		if e == nil || !e.Choice {
			continue
		}
		suffix := key[i:]
		for _, t := range e.Types {
			if choiceSuffix(t) == suffix {
				return e, t
			}
		}
	}
	return nil, ""
}

// choiceSuffix is how a choice element's JSON key ends for type t
// (valueString, valueQuantity): the type with an upper-case initial, and
// Quantity for the core's Quantity profiles, which r4spec lists as types.
func choiceSuffix(t string) string {
	switch t {
	case "SimpleQuantity", "MoneyQuantity":
		return "Quantity"
	}
	return upperFirst(t)
}
