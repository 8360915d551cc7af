package fhirpath

import (
	"math"
	"strings"
)

type binaryExpr struct {
	pos         int
	op          string
	left, right expr
}

func compileBinary(a *ast) (expr, error) {
	l, err := compileAST(a.children[0], true)
	if err != nil {
		return nil, err
	}
	r, err := compileAST(a.children[1], true)
	if err != nil {
		return nil, err
	}
	return &binaryExpr{pos: a.pos, op: a.name, left: l, right: r}, nil
}

func (e *binaryExpr) eval(ec *evalCtx, focus Collection, fr *frame) (Collection, error) {
	if err := ec.step(e.pos); err != nil {
		return nil, err
	}
	switch e.op {
	case "and", "or", "xor", "implies":
		return e.logic(ec, focus, fr)
	}
	l, err := e.left.eval(ec, focus, fr)
	if err != nil {
		return nil, err
	}
	r, err := e.right.eval(ec, focus, fr)
	if err != nil {
		return nil, err
	}
	if err := ec.charge(e.pos, len(l)*len(r)/16+len(l)+len(r)); err != nil {
		return nil, err
	}
	switch e.op {
	case "|":
		return distinct(append(append(Collection{}, l...), r...)), nil
	case "=":
		return collectionsEqual(l, r).collection(), nil
	case "!=":
		return notTri(collectionsEqual(l, r)).collection(), nil
	case "~":
		return Collection{Boolean(collectionsEquivalent(l, r))}, nil
	case "!~":
		return Collection{Boolean(!collectionsEquivalent(l, r))}, nil
	case "in":
		return e.membership(l, r)
	case "contains":
		return e.membership(r, l)
	case "&":
		return e.concat(l, r)
	case "<", ">", "<=", ">=":
		return e.compare(l, r)
	}
	return e.arithmetic(l, r)
}

func notTri(t tri) tri {
	switch t {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triEmpty
}

// singletonBool reads a collection as a boolean under the singleton
// evaluation rules: empty is unknown, a single non-Boolean item is true,
// more than one item is an error.
func singletonBool(c Collection, pos int) (tri, error) {
	switch len(c) {
	case 0:
		return triEmpty, nil
	case 1:
		if v, _ := systemOf(c[0]); v != nil {
			if b, ok := v.(Boolean); ok {
				return triOf(bool(b)), nil
			}
		}
		return triTrue, nil
	}
	return triEmpty, evalErr(pos, "expected a single boolean, got %d items", len(c))
}

// logic implements and, or, xor and implies with three-valued logic,
// evaluating the right side only when it can change the answer.
func (e *binaryExpr) logic(ec *evalCtx, focus Collection, fr *frame) (Collection, error) {
	lc, err := e.left.eval(ec, focus, fr)
	if err != nil {
		return nil, err
	}
	l, err := singletonBool(lc, e.pos)
	if err != nil {
		return nil, err
	}
	switch {
	case e.op == "and" && l == triFalse:
		return triFalse.collection(), nil
	case e.op == "or" && l == triTrue:
		return triTrue.collection(), nil
	case e.op == "implies" && l == triFalse:
		return triTrue.collection(), nil
	}
	rc, err := e.right.eval(ec, focus, fr)
	if err != nil {
		return nil, err
	}
	r, err := singletonBool(rc, e.pos)
	if err != nil {
		return nil, err
	}
	return combineLogic(e.op, l, r).collection(), nil
}

func combineLogic(op string, l, r tri) tri {
	switch op {
	case "and":
		if r == triFalse {
			return triFalse
		}
		if l == triTrue && r == triTrue {
			return triTrue
		}
		return triEmpty
	case "or":
		if r == triTrue {
			return triTrue
		}
		if l == triFalse && r == triFalse {
			return triFalse
		}
		return triEmpty
	case "xor":
		if l == triEmpty || r == triEmpty {
			return triEmpty
		}
		return triOf(l != r)
	}
	// implies, with l true or empty
	if r == triTrue {
		return triTrue
	}
	if l == triTrue {
		return r
	}
	return triEmpty
}

func (e *binaryExpr) membership(item, coll Collection) (Collection, error) {
	if len(item) == 0 {
		return nil, nil
	}
	if len(item) > 1 {
		return nil, evalErr(e.pos, "%s needs a single item, got %d", e.op, len(item))
	}
	return Collection{Boolean(contains(coll, item[0]))}, nil
}

func (e *binaryExpr) concat(l, r Collection) (Collection, error) {
	var b strings.Builder
	for _, side := range []Collection{l, r} {
		if len(side) > 1 {
			return nil, evalErr(e.pos, "& needs single items, got %d", len(side))
		}
		if len(side) == 1 {
			s, ok := asString(side[0])
			if !ok {
				return nil, evalErr(e.pos, "& needs strings, got %s", typeName(side[0]))
			}
			b.WriteString(s)
		}
	}
	if b.Len() > maxStringLen {
		return nil, &EvalError{Pos: e.pos, Msg: "&", Err: errTooLarge}
	}
	return Collection{String(b.String())}, nil
}

func asString(v Value) (string, bool) {
	s, _ := systemOf(v)
	x, ok := s.(String)
	return string(x), ok
}

// operands checks that both sides are single items and returns their
// System values; ok is false when either side is empty.
func (e *binaryExpr) operands(l, r Collection) (Value, Value, bool, error) {
	if len(l) == 0 || len(r) == 0 {
		return nil, nil, false, nil
	}
	if len(l) > 1 || len(r) > 1 {
		return nil, nil, false, evalErr(e.pos, "%s needs single items, got %d and %d", e.op, len(l), len(r))
	}
	a, okA := systemOf(l[0])
	b, okB := systemOf(r[0])
	if !okA || !okB {
		return nil, nil, false, evalErr(e.pos, "%s cannot use %s and %s", e.op, typeName(l[0]), typeName(r[0]))
	}
	a, b = coerceStrings(a, b)
	return a, b, true, nil
}

func (e *binaryExpr) compare(l, r Collection) (Collection, error) {
	a, b, ok, err := e.operands(l, r)
	if !ok {
		return nil, err
	}
	c, known, err := orderValues(a, b)
	if err != nil {
		return nil, evalErr(e.pos, "%s: %v", e.op, err)
	}
	if !known {
		return nil, nil
	}
	var res bool
	switch e.op {
	case "<":
		res = c < 0
	case ">":
		res = c > 0
	case "<=":
		res = c <= 0
	default:
		res = c >= 0
	}
	return Collection{Boolean(res)}, nil
}

// orderValues compares two System values of comparable types; known is
// false for dates of different precision that agree as far as both go.
func orderValues(a, b Value) (int, bool, error) {
	switch x := a.(type) {
	case Integer, Decimal:
		if isNumber(b) {
			return toDecimal(x).Cmp(toDecimal(b)), true, nil
		}
	case String:
		if y, ok := b.(String); ok {
			return strings.Compare(string(x), string(y)), true, nil
		}
	case Temporal:
		if y, ok := b.(Temporal); ok && temporalKindsMeet(x, y) {
			c, known := compareTemporal(x, y)
			return c, known, nil
		}
	case Quantity:
		if y, ok := b.(Quantity); ok {
			c, known := compareQuantities(x, y)
			if !known {
				return 0, false, errIncomparableUnits
			}
			return c, true, nil
		}
	}
	return 0, false, errIncomparable(a, b)
}

var errIncomparableUnits = errorString("quantities with incomparable units")

type errorString string

func (e errorString) Error() string { return string(e) }

func errIncomparable(a, b Value) error {
	return errorString("cannot compare " + typeName(a) + " with " + typeName(b))
}

func (e *binaryExpr) arithmetic(l, r Collection) (Collection, error) {
	a, b, ok, err := e.operands(l, r)
	if !ok {
		return nil, err
	}
	v, err := arith(e.op, a, b)
	if err == errDivZero || err == errOverflow {
		return nil, nil
	}
	if err != nil {
		return nil, &EvalError{Pos: e.pos, Msg: e.op, Err: err}
	}
	if v == nil {
		return nil, nil
	}
	return Collection{v}, nil
}

var errOverflow = errorString("integer overflow")

// arith applies + - * / div mod to two System values.
func arith(op string, a, b Value) (Value, error) {
	if x, ok := a.(Integer); ok {
		if y, ok := b.(Integer); ok && op != "/" {
			return intArith(op, int64(x), int64(y))
		}
	}
	switch x := a.(type) {
	case Integer, Decimal:
		if isNumber(b) {
			return decArith(op, toDecimal(x), toDecimal(b))
		}
		if q, ok := b.(Quantity); ok && op == "*" {
			q.Value = q.Value.Mul(toDecimal(x))
			return q, nil
		}
	case String:
		if y, ok := b.(String); ok && op == "+" {
			if len(x)+len(y) > maxStringLen {
				return nil, errTooLarge
			}
			return x + y, nil
		}
	case Temporal:
		if q, ok := b.(Quantity); ok && (op == "+" || op == "-") {
			return addDuration(x, q, op == "-")
		}
	case Quantity:
		return quantityArith(op, x, b)
	}
	return nil, errorString("cannot apply " + op + " to " + typeName(a) + " and " + typeName(b))
}

func intArith(op string, x, y int64) (Value, error) {
	var r int64
	switch op {
	case "+":
		r = x + y
		if (r > x) != (y > 0) {
			return nil, errOverflow
		}
	case "-":
		r = x - y
		if (r < x) != (y > 0) {
			return nil, errOverflow
		}
	case "*":
		if x != 0 && (x*y/x != y || (x == -1 && y == math.MinInt64)) {
			return nil, errOverflow
		}
		r = x * y
	case "div", "mod":
		if y == 0 {
			return nil, errDivZero
		}
		if op == "div" {
			r = x / y
		} else {
			r = x % y
		}
	}
	return Integer(r), nil
}

// maxStringLen bounds strings built by evaluation.
const maxStringLen = 1 << 20

// maxDecimalBits bounds the unscaled size of decimals built by arithmetic
// (about 150 digits), so repeated squaring fails instead of exhausting
// memory.
const maxDecimalBits = 500

func decArith(op string, x, y Decimal) (Value, error) {
	v, err := decArithRaw(op, x, y)
	if err != nil {
		return nil, err
	}
	d := v.(Decimal)
	if d.scale > maxDecimalScale {
		d = d.Round(maxDecimalScale).trimTo(0)
	}
	if d.big().BitLen() > maxDecimalBits {
		return nil, errTooLarge
	}
	return d, nil
}

func decArithRaw(op string, x, y Decimal) (Value, error) {
	switch op {
	case "+":
		return x.Add(y), nil
	case "-":
		return x.Sub(y), nil
	case "*":
		return x.Mul(y), nil
	case "/":
		d, ok := x.Div(y)
		if !ok {
			return nil, errDivZero
		}
		return d, nil
	case "div":
		d, ok := x.Div(y)
		if !ok {
			return nil, errDivZero
		}
		return d.Truncate(0), nil
	case "mod":
		d, ok := x.Div(y)
		if !ok {
			return nil, errDivZero
		}
		return x.Sub(d.Truncate(0).Mul(y)), nil
	}
	return nil, errorString("unknown operator " + op)
}

func quantityArith(op string, x Quantity, b Value) (Value, error) {
	if isNumber(b) && (op == "*" || op == "/") {
		v, err := decArith(op, x.Value, toDecimal(b))
		if err != nil {
			return nil, err
		}
		x.Value = v.(Decimal)
		return x, nil
	}
	y, ok := b.(Quantity)
	if !ok {
		return nil, errorString("cannot apply " + op + " to a quantity and " + typeName(b))
	}
	switch op {
	case "+", "-":
		yv, ok := convertQuantity(y, x)
		if !ok {
			return nil, errIncomparableUnits
		}
		if op == "+" {
			x.Value = x.Value.Add(yv)
		} else {
			x.Value = x.Value.Sub(yv)
		}
		return x, nil
	case "*":
		return multiplyQuantities(x, y, 1)
	case "/":
		return multiplyQuantities(x, y, -1)
	}
	return nil, errorString("cannot apply " + op + " to quantities")
}
