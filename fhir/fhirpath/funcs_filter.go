package fhirpath

import "sort"

func init() {
	register("where", 1, 1, filterWhere)
	register("select", 1, 1, fnSelect)
	register("repeat", 1, 1, fnRepeat)
	register("aggregate", 1, 2, fnAggregate)
	register("sort", 0, 8, fnSort)
	functions["ofType"] = &funcDef{min: 1, max: 1, typeArg: true, fn: fnOfType}
	functions["is"] = &funcDef{min: 1, max: 1, typeArg: true, fn: fnIs}
	functions["as"] = &funcDef{min: 1, max: 1, typeArg: true, fn: fnAs}
}

func filterWhere(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	var out Collection
	for i, v := range f {
		r, err := c.lambda(ec, 0, v, i, fr)
		if err != nil {
			return nil, err
		}
		b, err := singletonBool(r, c.pos)
		if err != nil {
			return nil, err
		}
		if b == triTrue {
			out = append(out, v)
		}
	}
	return out, nil
}

func fnSelect(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	var out Collection
	for i, v := range f {
		r, err := c.lambda(ec, 0, v, i, fr)
		if err != nil {
			return nil, err
		}
		out = append(out, r...)
	}
	return out, nil
}

// fnRepeat applies the projection to the input, then to its results, until
// no new items appear; items already seen are not revisited, so cycles end.
func fnRepeat(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	var out Collection
	queue := f
	for len(queue) > 0 {
		var next Collection
		for i, v := range queue {
			r, err := c.lambda(ec, 0, v, i, fr)
			if err != nil {
				return nil, err
			}
			if err := ec.charge(c.pos, len(out)*len(r)/4+1); err != nil {
				return nil, err
			}
			for _, x := range r {
				if !contains(out, x) {
					out = append(out, x)
					next = append(next, x)
				}
			}
		}
		queue = next
	}
	return out, nil
}

func fnAggregate(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	total, err := c.arg(ec, 1, fr)
	if err != nil {
		return nil, err
	}
	for i, v := range f {
		inner := &frame{this: v, hasThis: true, index: i, total: total, hasTotal: true}
		total, err = c.args[0].eval(ec, Collection{v}, inner)
		if err != nil {
			return nil, err
		}
	}
	return total, nil
}

// fnSort orders the input by the given keys (a leading unary minus on a key
// sorts descending), or by the items themselves with no keys.
func fnSort(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	type keyed struct {
		v    Value
		keys []Value
	}
	items := make([]keyed, len(f))
	for i, v := range f {
		items[i].v = v
		if len(c.args) == 0 {
			s, _ := systemOf(v)
			items[i].keys = []Value{s}
			c = &callExpr{pos: c.pos, name: c.name, desc: []bool{false}}
		}
		for k := range c.args {
			r, err := c.lambda(ec, k, v, i, fr)
			if err != nil {
				return nil, err
			}
			var key Value
			if len(r) > 0 {
				key, _ = systemOf(r[0])
			}
			items[i].keys = append(items[i].keys, key)
		}
	}
	var sortErr error
	sort.SliceStable(items, func(a, b int) bool {
		for k := range items[a].keys {
			x, y := items[a].keys[k], items[b].keys[k]
			if x == nil || y == nil {
				// Items without a key come first, in either direction.
				if (x == nil) != (y == nil) {
					return x == nil
				}
				continue
			}
			cmp, _, err := orderValues(x, y)
			if err != nil {
				sortErr = err
			}
			if cmp != 0 {
				return (cmp < 0) != c.desc[k]
			}
		}
		return false
	})
	if sortErr != nil {
		return nil, c.errorf("%v", sortErr)
	}
	out := make(Collection, len(items))
	for i := range items {
		out[i] = items[i].v
	}
	return out, nil
}

func fnOfType(c *callExpr, ec *evalCtx, f Collection, _ *frame) (Collection, error) {
	if !knownAnywhere(c.typ) {
		return nil, c.errorf("unknown type %s", c.typ)
	}
	var out Collection
	for _, v := range f {
		if ec.valueIs(v, c.typ, true) {
			out = append(out, v)
		}
	}
	return out, nil
}

func fnIs(c *callExpr, ec *evalCtx, f Collection, _ *frame) (Collection, error) {
	if !knownAnywhere(c.typ) {
		return nil, c.errorf("unknown type %s", c.typ)
	}
	if len(f) == 0 {
		return nil, nil
	}
	if len(f) > 1 {
		return nil, c.errorf("input has %d items, expected one", len(f))
	}
	return boolean(ec.valueIs(f[0], c.typ, false)), nil
}

// fnAs is the function form of as. Unlike the operator it accepts a
// collection and filters it like ofType(), because R4 core invariants
// (dom-3: descendants().as(canonical)) rely on that.
func fnAs(c *callExpr, ec *evalCtx, f Collection, _ *frame) (Collection, error) {
	return fnOfType(c, ec, f, nil)
}
