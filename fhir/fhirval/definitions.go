package fhirval

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/hl7gw/gateway/fhir/fhirpath"
	"github.com/hl7gw/gateway/fhir/r4spec"
	"github.com/hl7gw/gateway/validation"
)

// This file checks a decoded resource against the R4 core definitions
// (package r4spec), as the HL7 Java validator does without a terminology
// server:
//
//   - cardinality: every mandatory element present, no repeating element
//     with more items than its maximum;
//   - required bindings: a code, Coding or CodeableConcept bound to a value
//     set the core package enumerates holds a code of it;
//   - every error-severity invariant of every element present, evaluated
//     with package fhirpath, reported with the element's location and the
//     invariant key ("pat-1: ...").
//
// Unknown elements and primitive formats are google/fhir's findings.

// maxInvariantSteps bounds one invariant's evaluation; running out is a
// warning (the invariant was not decided), never a refusal.
const maxInvariantSteps = 200_000

// defs walks one document.
type defs struct {
	spec *r4spec.Spec
	out  validation.Findings

	// The evaluation options for the resource being walked, built once
	// per resource rather than per invariant.
	envRes, envRoot *fhirpath.Node
	env             *fhirpath.Env
}

// options returns the evaluation options with %resource res and
// %rootResource root.
func (d *defs) options(res, root *fhirpath.Node) *fhirpath.Env {
	if d.env == nil || d.envRes != res || d.envRoot != root {
		d.envRes, d.envRoot = res, root
		d.env = fhirpath.NewEnv(fhirpath.WithModel(d.spec), fhirpath.WithMaxSteps(maxInvariantSteps),
			fhirpath.WithVariable("resource", fhirpath.Collection{res}),
			fhirpath.WithVariable("rootResource", fhirpath.Collection{root}))
	}
	return d.env
}

// definitionFindings walks the resource v (decoded with UseNumber) whose
// locations start at root.
func definitionFindings(v map[string]any, root string) validation.Findings {
	d := &defs{spec: r4spec.R4()}
	rt, _ := v["resourceType"].(string)
	if ti := typeOf(rt); ti != nil {
		n := &fhirpath.Node{Type: rt, JSON: v}
		d.object(n, ti, nil, root, n, n)
	}
	slices.SortStableFunc(d.out, func(a, b validation.Finding) int { return strings.Compare(a.Location, b.Location) })
	return d.out
}

func (d *defs) add(code validation.Code, loc, msg string) {
	if len(d.out) < maxFindings {
		d.out = append(d.out, validation.Finding{Severity: validation.SeverityError, Code: code, Location: loc, Message: msg})
	}
}

// object checks the complex element n of type ti at loc: its own
// invariants (el's and the type's), its mandatory elements, then every
// member. res and root are %resource and %rootResource.
func (d *defs) object(n *fhirpath.Node, ti *typeInfo, el *r4spec.Element, loc string, res, root *fhirpath.Node) {
	obj := n.Object()
	if !elementOK(obj) {
		d.add(validation.CodeRequiredMissing, loc, "ele-1: All FHIR elements must have a @value or children")
	}
	if el != nil {
		d.invariants(n, compiled(el), loc, res, root)
	}
	d.invariants(n, ti.invariants, loc, res, root)
	if ti.resource {
		d.dom3(obj, loc)
		if obj["meta"] != nil {
			d.metaProfiles(obj, ti.name, loc)
		}
	}
	for _, e := range ti.required {
		if !present(obj, e) {
			d.add(validation.CodeRequiredMissing, loc+"."+e.Name, "required element missing (min "+strconv.Itoa(e.Min)+")")
		}
	}
	// A primitive's "_name" object (el nil, not a resource) has its
	// extensions checked by value, which knows the primitive's type.
	if (el != nil || ti.resource) && (obj["extension"] != nil || obj["modifierExtension"] != nil) {
		h := holder{typ: ti.name, el: el, parent: n.Parent, key: n.Name}
		if ti.resource {
			h = holder{typ: ti.name}
		}
		d.extensionUse(obj, h, loc)
	}
	for k, v := range obj { // map order: definitionFindings sorts the findings
		if k == "resourceType" || k == "fhir_comments" || k == "" || k[0] == '_' {
			continue
		}
		e, typ := ti.member(k)
		if e == nil {
			continue // google/fhir reports unknown elements
		}
		d.member(n, k, v, obj["_"+k], e, typ, where{loc, safeName(k), -1}, res, root)
	}
}

// where is a location built only when something needs it (most values
// produce no finding): the parent's location, ".key", and "[idx]" unless
// idx is negative.
type where struct {
	parent, key string
	idx         int
}

func (w where) String() string {
	if w.idx < 0 {
		return w.parent + "." + w.key
	}
	return w.parent + "." + w.key + "[" + strconv.Itoa(w.idx) + "]"
}

// member checks one JSON member: its cardinality, then each value.
func (d *defs) member(parent *fhirpath.Node, key string, v, ext any, e *r4spec.Element, typ string, w where, res, root *fhirpath.Node) {
	arr, isArr := v.([]any)
	if isArr && e.Max >= 0 && len(arr) > e.Max && e.Max != 1 {
		d.add(validation.CodeSegmentSequence, w.String(), "more than "+strconv.Itoa(e.Max)+" values")
	}
	if !isArr {
		d.value(parent, key, v, ext, e, typ, w, res, root)
		return
	}
	exts, _ := ext.([]any)
	for i, item := range arr {
		var x any
		if i < len(exts) {
			x = exts[i]
		}
		w.idx = i
		d.value(parent, key, item, x, e, typ, w, res, root)
	}
}

// value checks one value of element e, of type typ.
func (d *defs) value(parent *fhirpath.Node, key string, v, ext any, e *r4spec.Element, typ string, w where, res, root *fhirpath.Node) {
	obj, isObj := v.(map[string]any)
	if rt, ok := obj["resourceType"].(string); ok && isObj && typ == "Resource" {
		ti := typeOf(rt)
		if ti == nil || !ti.resource {
			return // google/fhir reports unknown resource types
		}
		n := &fhirpath.Node{Name: key, Type: rt, JSON: obj, Parent: parent}
		nroot := root
		if key != "contained" {
			nroot = n // only a contained resource's root is its container
		}
		d.object(n, ti, e, w.String(), n, nroot)
		return
	}
	em, _ := ext.(map[string]any)
	if e.ValueSet != "" {
		d.binding(v, typ, e.ValueSet, w)
	}
	if isObj {
		if ti := typeOf(typ); ti != nil {
			d.object(&fhirpath.Node{Name: key, Type: typ, JSON: v, Parent: parent}, ti, e, w.String(), res, root)
		}
		return
	}
	var loc string // the primitive's location, built once if needed
	if em != nil {
		loc = w.String()
		if em["extension"] != nil {
			d.extensionUse(em, holder{typ: typ, el: e, parent: parent, key: key}, loc)
		}
		if ti := typeOf("Element"); ti != nil {
			d.object(&fhirpath.Node{Name: key, Type: "Element", JSON: em, Parent: parent}, ti, nil, loc, res, root)
		}
	}
	invs := compiled(e)
	if s, ok := v.(string); ok && typ == "xhtml" && plainNarrative(s) {
		invs = withoutHTMLChecks(invs)
	}
	if len(invs) > 0 {
		if loc == "" {
			loc = w.String()
		}
		d.invariants(&fhirpath.Node{Name: key, Type: typ, JSON: v, Ext: em, Parent: parent}, invs, loc, res, root)
	}
}

// withoutHTMLChecks drops the htmlChecks() invariants (txt-1, txt-2) of a
// narrative plainNarrative has already accepted.
func withoutHTMLChecks(invs []*invariant) []*invariant {
	var out []*invariant
	for _, inv := range invs {
		if inv.expr == nil || inv.expr.String() != "htmlChecks()" {
			out = append(out, inv)
		}
	}
	return out
}

// invariants evaluates each invariant on n; a false result is an error
// at loc. An empty result passes, as does an expression the engine
// refused to compile (TestEveryInvariantCompiles keeps that list empty).
func (d *defs) invariants(n *fhirpath.Node, invs []*invariant, loc string, res, root *fhirpath.Node) {
	var (
		last         *fhirpath.Expression
		ok, known    bool
		err          error
		lastSrc, src string
	)
	obj := n.Object()
	for _, inv := range invs {
		if inv.expr == nil || obj != nil && inv.holds != nil && inv.holds(obj) {
			continue
		}
		// txt-1 and txt-2 are both htmlChecks(): evaluate such twins once.
		if src = inv.expr.String(); last == nil || src != lastSrc {
			ok, known, err = inv.expr.EvaluateBoolIn(d.options(res, root), n)
			last, lastSrc = inv.expr, src
		}
		switch {
		case errors.Is(err, fhirpath.ErrBudget):
			if len(d.out) < maxFindings {
				d.out = append(d.out, validation.Finding{Severity: validation.SeverityWarning, Code: validation.CodeInternal,
					Location: loc, Message: inv.c.Key + ": not evaluated, too much work"})
			}
		case err == nil && known && !ok:
			d.add(validation.CodeDataType, loc, inv.c.Key+": "+inv.c.Human)
		}
	}
}

// present reports whether the mandatory element e has a value or an
// extension in obj, under any of its choice names.
func present(obj map[string]any, e *r4spec.Element) bool {
	if !e.Choice {
		_, v := obj[e.Name]
		_, x := obj["_"+e.Name]
		return v || x
	}
	for _, t := range e.Types {
		name := e.Name + choiceSuffix(t)
		if _, ok := obj[name]; ok {
			return true
		}
		if _, ok := obj["_"+name]; ok {
			return true
		}
	}
	return false
}
