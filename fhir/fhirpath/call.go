package fhirpath

import (
	"fmt"
)

// funcDef describes a built-in function: its arity and implementation.
type funcDef struct {
	min, max int
	typeArg  bool // the only argument is a type specifier: is, as, ofType
	fn       func(c *callExpr, ec *evalCtx, focus Collection, fr *frame) (Collection, error)
}

// functions is the table of built-in functions, filled by the files that
// implement each family.
var functions = map[string]*funcDef{}

func register(name string, min, max int, fn func(*callExpr, *evalCtx, Collection, *frame) (Collection, error)) {
	functions[name] = &funcDef{min: min, max: max, fn: fn}
}

// callExpr is a compiled function call.
type callExpr struct {
	pos  int
	name string
	def  *funcDef
	args []expr
	typ  typeSpec
	desc []bool // sort(): keys written with a leading minus sort descending
}

func compileCall(a *ast) (expr, error) {
	def, ok := functions[a.name]
	if !ok {
		return nil, &SemanticError{a.pos, fmt.Sprintf("unknown function %s()", a.name)}
	}
	if len(a.children) < def.min || len(a.children) > def.max {
		return nil, &SemanticError{a.pos, fmt.Sprintf("%s() takes %s, got %d", a.name, arity(def), len(a.children))}
	}
	c := &callExpr{pos: a.pos, name: a.name, def: def}
	if def.typeArg {
		t, ok := typeFromAST(a.children[0])
		if !ok {
			return nil, &SemanticError{a.children[0].pos, fmt.Sprintf("%s() needs a type name", a.name)}
		}
		c.typ = t
		return c, nil
	}
	for _, ch := range a.children {
		desc := false
		if a.name == "sort" && ch.kind == astUnary && ch.name == "-" {
			ch, desc = ch.children[0], true
		}
		c.desc = append(c.desc, desc)
		e, err := compileAST(ch, true)
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, e)
	}
	return c, nil
}

func arity(d *funcDef) string {
	if d.min == d.max {
		return fmt.Sprintf("%d arguments", d.min)
	}
	return fmt.Sprintf("%d to %d arguments", d.min, d.max)
}

func (c *callExpr) eval(ec *evalCtx, focus Collection, fr *frame) (Collection, error) {
	if err := ec.step(c.pos); err != nil {
		return nil, err
	}
	if err := ec.enter(c.pos); err != nil {
		return nil, err
	}
	defer ec.leave()
	out, err := c.def.fn(c, ec, focus, fr)
	if err != nil {
		return nil, err
	}
	return out, ec.charge(c.pos, len(out))
}

// arg evaluates argument i in the caller's context ($this unchanged).
func (c *callExpr) arg(ec *evalCtx, i int, fr *frame) (Collection, error) {
	if i >= len(c.args) {
		return nil, nil
	}
	return c.args[i].eval(ec, fr.thisFocus(), fr)
}

// lambda evaluates argument i once for an item, with $this and $index set.
func (c *callExpr) lambda(ec *evalCtx, i int, item Value, index int, fr *frame) (Collection, error) {
	inner := &frame{this: item, hasThis: true, index: index, total: fr.total, hasTotal: fr.hasTotal}
	return c.args[i].eval(ec, Collection{item}, inner)
}

// singleArg evaluates argument i and requires at most one item; ok is false
// when it is empty.
func (c *callExpr) singleArg(ec *evalCtx, i int, fr *frame) (Value, bool, error) {
	v, err := c.arg(ec, i, fr)
	if err != nil || len(v) == 0 {
		return nil, false, err
	}
	if len(v) > 1 {
		return nil, false, c.errorf("argument %d has %d items, expected one", i+1, len(v))
	}
	s, _ := systemOf(v[0])
	if s == nil {
		s = v[0]
	}
	return s, true, nil
}

func (c *callExpr) stringArg(ec *evalCtx, i int, fr *frame) (string, bool, error) {
	v, ok, err := c.singleArg(ec, i, fr)
	if !ok || err != nil {
		return "", false, err
	}
	s, isStr := v.(String)
	if !isStr {
		return "", false, c.errorf("argument %d is %s, expected a string", i+1, typeName(v))
	}
	return string(s), true, nil
}

func (c *callExpr) intArg(ec *evalCtx, i int, fr *frame) (int64, bool, error) {
	v, ok, err := c.singleArg(ec, i, fr)
	if !ok || err != nil {
		return 0, false, err
	}
	n, isInt := v.(Integer)
	if !isInt {
		return 0, false, c.errorf("argument %d is %s, expected an integer", i+1, typeName(v))
	}
	return int64(n), true, nil
}

func (c *callExpr) errorf(format string, args ...any) error {
	return &EvalError{Pos: c.pos, Msg: c.name + "(): " + fmt.Sprintf(format, args...)}
}

// singleInput requires the focus to hold at most one item and returns its
// System value (or the node itself for complex elements); ok is false for
// an empty focus.
func (c *callExpr) singleInput(focus Collection) (Value, bool, error) {
	if len(focus) == 0 {
		return nil, false, nil
	}
	if len(focus) > 1 {
		return nil, false, c.errorf("input has %d items, expected one", len(focus))
	}
	v, ok := systemOf(focus[0])
	if !ok {
		return focus[0], true, nil
	}
	return v, true, nil
}

// stringInput is singleInput for functions that need a string.
func (c *callExpr) stringInput(focus Collection) (string, bool, error) {
	v, ok, err := c.singleInput(focus)
	if !ok || err != nil {
		return "", false, err
	}
	s, isStr := v.(String)
	if !isStr {
		return "", false, c.errorf("input is %s, expected a string", typeName(v))
	}
	return string(s), true, nil
}

func one(v Value) Collection { return Collection{v} }

func boolean(b bool) Collection { return Collection{Boolean(b)} }
