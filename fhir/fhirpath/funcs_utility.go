package fhirpath

import "time"

func init() {
	register("iif", 2, 3, fnIif)
	register("trace", 1, 2, fnTrace)
	register("now", 0, 0, func(_ *callExpr, ec *evalCtx, _ Collection, _ *frame) (Collection, error) {
		return one(fromTime(ec.clock(), KindDateTime, PrecMilli)), nil
	})
	register("today", 0, 0, func(_ *callExpr, ec *evalCtx, _ Collection, _ *frame) (Collection, error) {
		return one(fromTime(ec.clock(), KindDate, PrecDay)), nil
	})
	register("timeOfDay", 0, 0, func(_ *callExpr, ec *evalCtx, _ Collection, _ *frame) (Collection, error) {
		return one(fromTime(ec.clock(), KindTime, PrecMilli)), nil
	})
	register("type", 0, 0, func(_ *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		out := make(Collection, 0, len(f))
		for _, v := range f {
			out = append(out, typeOfValue(v))
		}
		return out, nil
	})
	register("children", 0, 0, func(c *callExpr, ec *evalCtx, f Collection, _ *frame) (Collection, error) {
		var out Collection
		for _, v := range f {
			if n, ok := v.(*Node); ok {
				out = ec.allChildren(n, out)
			}
		}
		return out, nil
	})
	register("descendants", 0, 0, fnDescendants)
}

func fromTime(t time.Time, k TemporalKind, p Precision) Temporal {
	_, off := t.Zone()
	r := Temporal{Kind: k, Prec: p, HasTZ: k == KindDateTime, TZMinutes: off / 60}
	return r.fromGoTime(t)
}

// fnIif evaluates the criterion and then only the chosen branch. Called on
// a single item it makes that item $this for its arguments.
func fnIif(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	if len(f) > 1 {
		return nil, c.errorf("input has %d items, expected at most one", len(f))
	}
	inner := fr
	if len(f) == 1 {
		inner = &frame{this: f[0], hasThis: true, index: fr.index, total: fr.total, hasTotal: fr.hasTotal}
	}
	cond, err := c.arg(ec, 0, inner)
	if err != nil {
		return nil, err
	}
	if len(cond) > 1 {
		return nil, c.errorf("criterion has %d items, expected one", len(cond))
	}
	if len(cond) == 1 {
		if s, _ := systemOf(cond[0]); s != nil {
			if _, ok := s.(Boolean); !ok {
				return nil, c.errorf("criterion is %s, expected a boolean", typeName(cond[0]))
			}
		}
	}
	b, err := singletonBool(cond, c.pos)
	if err != nil {
		return nil, err
	}
	if b == triTrue {
		return c.arg(ec, 1, inner)
	}
	return c.arg(ec, 2, inner)
}

func fnTrace(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	name, _, err := c.stringArg(ec, 0, fr)
	if err != nil {
		return nil, err
	}
	if ec.trace == nil {
		return f, nil
	}
	shown := f
	if len(c.args) > 1 {
		shown = nil
		for i, v := range f {
			r, err := c.lambda(ec, 1, v, i, fr)
			if err != nil {
				return nil, err
			}
			shown = append(shown, r...)
		}
	}
	ec.trace(name, shown)
	return f, nil
}

func fnDescendants(c *callExpr, ec *evalCtx, f Collection, _ *frame) (Collection, error) {
	var out Collection
	queue := f
	for len(queue) > 0 {
		var next Collection
		for _, v := range queue {
			if n, ok := v.(*Node); ok {
				next = ec.allChildren(n, next)
			}
		}
		if err := ec.step(c.pos); err != nil {
			return nil, err
		}
		out = append(out, next...)
		queue = next
	}
	return out, nil
}
