package fhirpath

import (
	"fmt"
	"strings"
)

// CompileFor compiles an expression and checks its paths against a model
// for the given context type (a resource or data type name): an element
// the type does not have, a typed choice name such as valueQuantity, or a
// path that starts with a different resource type is a *SemanticError.
// Types the model does not list completely are not checked.
func CompileFor(src, contextType string, m Model) (*Expression, error) {
	a, err := parse(src)
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = builtinModel
	}
	ck := &checker{model: m, unordered: map[*ast]bool{}}
	if _, err := ck.check(a, []string{contextType}, []string{contextType}, true); err != nil {
		return nil, err
	}
	root, err := compileAST(a, true)
	if err != nil {
		return nil, err
	}
	return &Expression{src: src, root: root}, nil
}

// checker infers the possible FHIR types of each subexpression; a nil
// slice means "unknown", which disables checks below it.
type checker struct {
	model Model
	// unordered marks subexpressions whose result has no defined order
	// (children(), descendants() and what is derived from them);
	// inUnordered says whether the focus being checked is such a result.
	unordered   map[*ast]bool
	inUnordered bool
}

// orderedOnly functions depend on the order of their input.
var orderedOnly = map[string]bool{"first": true, "last": true, "tail": true, "skip": true, "take": true}

// orderKeeping functions return an unordered result for an unordered
// input.
var orderKeeping = map[string]bool{
	"where": true, "select": true, "ofType": true, "as": true, "distinct": true,
	"exclude": true, "intersect": true, "trace": true, "repeat": true,
}

// typePreserving functions return (a subset of) their input.
var typePreserving = map[string]bool{
	"where": true, "first": true, "last": true, "tail": true, "skip": true, "take": true,
	"single": true, "distinct": true, "trace": true, "intersect": true, "exclude": true,
}

// lambdaFunctions evaluate their arguments once per input item.
var lambdaFunctions = map[string]bool{
	"where": true, "select": true, "exists": true, "all": true, "repeat": true, "sort": true,
	"trace": true, "aggregate": true, "iif": true,
}

func (ck *checker) check(a *ast, focus, this []string, head bool) ([]string, error) {
	switch a.kind {
	case astIdent:
		return ck.member(a, focus, head)
	case astInvoke:
		t, err := ck.check(a.children[0], focus, this, head)
		if err != nil {
			return nil, err
		}
		ck.inUnordered = ck.unordered[a.children[0]]
		r, err := ck.check(a.children[1], t, this, false)
		ck.unordered[a] = ck.unordered[a.children[1]]
		return r, err
	case astIndex:
		t, err := ck.check(a.children[0], focus, this, head)
		if err != nil {
			return nil, err
		}
		if ck.unordered[a.children[0]] {
			return nil, &SemanticError{a.pos, "indexing a collection that has no order"}
		}
		_, err = ck.check(a.children[1], this, this, true)
		return t, err
	case astFunc:
		return ck.call(a, focus, this)
	case astTypeOp:
		if _, err := ck.check(a.children[0], focus, this, head); err != nil {
			return nil, err
		}
		if a.name == "as" {
			return []string{strings.TrimPrefix(a.children[1].name, "FHIR.")}, nil
		}
		return nil, nil
	case astSpecial:
		if a.name == "$this" {
			return this, nil
		}
		return nil, nil
	case astLiteral:
		return []string{"System." + a.lit.TypeOf().Name}, nil
	case astBinary:
		return ck.binary(a, this)
	}
	for _, c := range a.children {
		if _, err := ck.check(c, this, this, true); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// member resolves a name against the possible focus types.
func (ck *checker) member(a *ast, focus []string, head bool) ([]string, error) {
	ck.unordered[a] = !head && ck.inUnordered
	if len(focus) == 0 || focus[0] == "" {
		return nil, nil
	}
	if head && isTypeName(a.name) && r4TypeNames[a.name] && !strings.Contains(a.name, ".") {
		for _, t := range focus {
			if ck.derives(t, a.name) {
				return []string{a.name}, nil
			}
		}
		if ck.allComplete(focus) && !ck.hasElement(focus, a.name) {
			return nil, &SemanticError{a.pos, fmt.Sprintf("the context is %s, not %s", strings.Join(focus, " or "), a.name)}
		}
	}
	var out []string
	for _, t := range focus {
		typ, choice, ok := ck.model.ElementType(t, a.name)
		if !ok {
			continue
		}
		if choice || typ == "*" || typ == "Resource" {
			return nil, nil
		}
		out = append(out, typ)
	}
	if len(out) == 0 {
		if ck.allComplete(focus) {
			return nil, &SemanticError{a.pos, fmt.Sprintf("%s has no element %q", strings.Join(focus, " or "), a.name)}
		}
		return nil, nil
	}
	return out, nil
}

func (ck *checker) derives(t, base string) bool {
	for ; t != ""; t = ck.model.BaseType(t) {
		if t == base {
			return true
		}
	}
	return false
}

func (ck *checker) allComplete(types []string) bool {
	for _, t := range types {
		if !ck.model.Complete(t) {
			return false
		}
	}
	return true
}

func (ck *checker) hasElement(types []string, name string) bool {
	for _, t := range types {
		if _, _, ok := ck.model.ElementType(t, name); ok {
			return true
		}
	}
	return false
}

// call checks a function's arguments and infers its result type.
func (ck *checker) call(a *ast, focus, this []string) ([]string, error) {
	inUnordered := ck.inUnordered
	if orderedOnly[a.name] && inUnordered {
		return nil, &SemanticError{a.pos, fmt.Sprintf("%s() needs an ordered input; children() and descendants() have no order", a.name)}
	}
	ck.unordered[a] = a.name == "children" || a.name == "descendants" || (orderKeeping[a.name] && inUnordered)
	def := functions[a.name]
	if def != nil && def.typeArg {
		if t, ok := typeFromAST(a.children[0]); ok && (a.name == "as" || a.name == "ofType") {
			return []string{t.name}, nil
		}
		return nil, nil
	}
	if stringFunctions[a.name] && len(focus) > 0 && !anyStringLike(focus) {
		return nil, &SemanticError{a.pos, fmt.Sprintf("%s() needs a string, not %s", a.name, strings.Join(focus, " or "))}
	}
	argThis := this
	if lambdaFunctions[a.name] {
		argThis = focus
	}
	var first []string
	for i, c := range a.children {
		t, err := ck.check(c, argThis, argThis, true)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			first = t
		}
	}
	if a.name == "iif" && len(first) == 1 && strings.HasPrefix(first[0], "System.") && first[0] != "System.Boolean" {
		return nil, &SemanticError{a.children[0].pos, fmt.Sprintf("iif() criterion is %s, not a boolean", first[0])}
	}
	switch {
	case typePreserving[a.name]:
		return focus, nil
	case a.name == "select":
		return first, nil
	}
	return nil, nil
}

// stringFunctions need a string input.
var stringFunctions = map[string]bool{
	"startsWith": true, "endsWith": true, "contains": true, "substring": true, "indexOf": true,
	"matches": true, "replaceMatches": true, "replace": true, "upper": true, "lower": true,
	"length": true, "toChars": true, "trim": true, "split": true,
}

// anyStringLike reports whether any of the inferred types may be a string:
// unknown types, System.String, and FHIR primitives (whose System type the
// checker does not track). Complex FHIR types and other System types are
// not.
func anyStringLike(types []string) bool {
	for _, t := range types {
		if t == "" || t == "System.String" || isPrimitiveType(t) {
			return true
		}
	}
	return false
}

var temporalSystemTypes = map[string]bool{"System.Date": true, "System.DateTime": true, "System.Time": true}

// binary checks both operands, and refuses arithmetic that adds a plain
// number to a date or time (a duration needs a unit).
func (ck *checker) binary(a *ast, this []string) ([]string, error) {
	var sides [2][]string
	for i, c := range a.children {
		t, err := ck.check(c, this, this, true)
		if err != nil {
			return nil, err
		}
		sides[i] = t
	}
	if a.name != "+" && a.name != "-" || len(sides[0]) != 1 || len(sides[1]) != 1 {
		return nil, nil
	}
	l, r := sides[0][0], sides[1][0]
	if temporalSystemTypes[l] && (r == "System.Integer" || r == "System.Decimal") {
		return nil, &SemanticError{a.pos, fmt.Sprintf("cannot apply %s to %s and %s; a duration needs a unit", a.name, l, r)}
	}
	return nil, nil
}
