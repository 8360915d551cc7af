package fhirpath

import (
	"fmt"
	"strings"
)

type literalExpr struct {
	pos int
	v   Collection
	err string
}

func (e *literalExpr) eval(ec *evalCtx, _ Collection, _ *frame) (Collection, error) {
	if e.err != "" {
		return nil, evalErr(e.pos, "%s", e.err)
	}
	return e.v, ec.step(e.pos)
}

// memberExpr navigates to the child elements called name. At the head of
// a path a capitalised name that is the focus's type selects the focus
// itself, so Patient.name works on a Patient.
type memberExpr struct {
	pos  int
	name string
	head bool
}

func (e *memberExpr) eval(ec *evalCtx, focus Collection, _ *frame) (Collection, error) {
	if err := ec.step(e.pos); err != nil {
		return nil, err
	}
	var out Collection
	for _, v := range focus {
		if ti, ok := v.(TypeInfo); ok {
			out = append(out, ti.member(e.name)...)
			continue
		}
		n, ok := v.(*Node)
		if !ok {
			continue
		}
		if e.head && isTypeName(e.name) && ec.isOfType(n, typeSpec{name: e.name}, false) {
			out = append(out, n)
			continue
		}
		out = ec.children(n, e.name, out)
	}
	return out, nil
}

func isTypeName(s string) bool { return s != "" && s[0] >= 'A' && s[0] <= 'Z' }

type invokeExpr struct {
	pos            int
	target, member expr
}

func (e *invokeExpr) eval(ec *evalCtx, focus Collection, fr *frame) (Collection, error) {
	t, err := e.target.eval(ec, focus, fr)
	if err != nil {
		return nil, err
	}
	return e.member.eval(ec, t, fr)
}

type indexExpr struct {
	pos           int
	target, index expr
}

func (e *indexExpr) eval(ec *evalCtx, focus Collection, fr *frame) (Collection, error) {
	t, err := e.target.eval(ec, focus, fr)
	if err != nil {
		return nil, err
	}
	ic, err := e.index.eval(ec, fr.thisFocus(), fr)
	if err != nil {
		return nil, err
	}
	if len(ic) == 0 {
		return nil, nil
	}
	i, ok := singleInteger(ic)
	if !ok {
		return nil, evalErr(e.pos, "index is not an integer")
	}
	if i < 0 || i >= int64(len(t)) {
		return nil, nil
	}
	return Collection{t[i]}, nil
}

func singleInteger(c Collection) (int64, bool) {
	if len(c) != 1 {
		return 0, false
	}
	v, _ := systemOf(c[0])
	i, ok := v.(Integer)
	return int64(i), ok
}

type unaryExpr struct {
	pos     int
	op      string
	operand expr
}

func (e *unaryExpr) eval(ec *evalCtx, focus Collection, fr *frame) (Collection, error) {
	c, err := e.operand.eval(ec, focus, fr)
	if err != nil || len(c) == 0 {
		return nil, err
	}
	if len(c) > 1 {
		return nil, evalErr(e.pos, "unary %s on a collection of %d items", e.op, len(c))
	}
	v, _ := systemOf(c[0])
	if e.op == "+" {
		switch v.(type) {
		case Integer, Decimal, Quantity:
			return Collection{v}, nil
		}
		return nil, evalErr(e.pos, "unary + on %s", typeName(c[0]))
	}
	switch x := v.(type) {
	case Integer:
		return Collection{-x}, nil
	case Decimal:
		return Collection{x.Neg()}, nil
	case Quantity:
		x.Value = x.Value.Neg()
		return Collection{x}, nil
	}
	return nil, evalErr(e.pos, "cannot negate %s", typeName(c[0]))
}

func typeName(v Value) string {
	t := v.TypeOf()
	return t.Namespace + "." + t.Name
}

type typeOpExpr struct {
	pos  int
	op   string
	left expr
	typ  typeSpec
}

func (e *typeOpExpr) eval(ec *evalCtx, focus Collection, fr *frame) (Collection, error) {
	c, err := e.left.eval(ec, focus, fr)
	if err != nil || len(c) == 0 {
		return nil, err
	}
	if !knownAnywhere(e.typ) {
		return nil, evalErr(e.pos, "unknown type %s", e.typ)
	}
	if len(c) > 1 {
		return nil, evalErr(e.pos, "%s on a collection of %d items", e.op, len(c))
	}
	ok := ec.valueIs(c[0], e.typ, e.op == "as")
	if e.op == "is" {
		return Collection{Boolean(ok)}, nil
	}
	if ok {
		return c, nil
	}
	return nil, nil
}

// constExpr reads %name: a variable given to Evaluate, or one of the
// constants FHIR defines.
type constExpr struct {
	pos  int
	name string
}

func (e *constExpr) eval(ec *evalCtx, _ Collection, _ *frame) (Collection, error) {
	if c, ok := ec.variable(e.name); ok {
		return c, nil
	}
	switch {
	case e.name == "ucum":
		return Collection{String("http://unitsofmeasure.org")}, nil
	case e.name == "sct":
		return Collection{String("http://snomed.info/sct")}, nil
	case e.name == "loinc":
		return Collection{String("http://loinc.org")}, nil
	case strings.HasPrefix(e.name, "vs-"):
		return Collection{String("http://hl7.org/fhir/ValueSet/" + e.name[3:])}, nil
	case strings.HasPrefix(e.name, "ext-"):
		return Collection{String("http://hl7.org/fhir/StructureDefinition/" + e.name[4:])}, nil
	}
	return nil, evalErr(e.pos, "unknown constant %%%s", e.name)
}

type specialExpr struct {
	pos  int
	name string
}

func (e *specialExpr) eval(_ *evalCtx, _ Collection, fr *frame) (Collection, error) {
	switch e.name {
	case "$this":
		return fr.thisFocus(), nil
	case "$index":
		return Collection{Integer(fr.index)}, nil
	}
	if !fr.hasTotal {
		return nil, evalErr(e.pos, "$total outside aggregate()")
	}
	return fr.total, nil
}

// typeOfValue returns what type() reports: backbone elements report
// FHIR.BackboneElement.
func typeOfValue(v Value) TypeInfo {
	t := v.TypeOf()
	if strings.Contains(t.Name, ".") {
		t.Name = "BackboneElement"
	}
	return t
}

func (t TypeInfo) String() string { return fmt.Sprintf("%s.%s", t.Namespace, t.Name) }

// member reads the namespace and name of a type() result.
func (t TypeInfo) member(name string) Collection {
	switch name {
	case "namespace":
		return Collection{String(t.Namespace)}
	case "name":
		return Collection{String(t.Name)}
	}
	return nil
}

func (t typeSpec) String() string {
	if t.ns == "" {
		return t.name
	}
	return t.ns + "." + t.name
}
