package fhirpath

func init() {
	register("empty", 0, 0, func(_ *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		return boolean(len(f) == 0), nil
	})
	register("exists", 0, 1, fnExists)
	register("all", 1, 1, fnAll)
	register("allTrue", 0, 0, boolsAre(true, true))
	register("anyTrue", 0, 0, boolsAre(true, false))
	register("allFalse", 0, 0, boolsAre(false, true))
	register("anyFalse", 0, 0, boolsAre(false, false))
	register("subsetOf", 1, 1, fnSubset(false))
	register("supersetOf", 1, 1, fnSubset(true))
	register("count", 0, 0, func(_ *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		return one(Integer(len(f))), nil
	})
	register("distinct", 0, 0, func(c *callExpr, ec *evalCtx, f Collection, _ *frame) (Collection, error) {
		if err := ec.charge(c.pos, len(f)*len(f)/16); err != nil {
			return nil, err
		}
		return distinct(f), nil
	})
	register("isDistinct", 0, 0, func(c *callExpr, ec *evalCtx, f Collection, _ *frame) (Collection, error) {
		if err := ec.charge(c.pos, len(f)*len(f)/16); err != nil {
			return nil, err
		}
		return boolean(len(distinct(f)) == len(f)), nil
	})
	register("not", 0, 0, fnNot)
}

func fnExists(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	if len(c.args) == 0 {
		return boolean(len(f) > 0), nil
	}
	w, err := filterWhere(c, ec, f, fr)
	return boolean(len(w) > 0), err
}

func fnAll(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	for i, v := range f {
		r, err := c.lambda(ec, 0, v, i, fr)
		if err != nil {
			return nil, err
		}
		b, err := singletonBool(r, c.pos)
		if err != nil {
			return nil, err
		}
		if b != triTrue {
			return boolean(false), nil
		}
	}
	return boolean(true), nil
}

// boolsAre builds allTrue/anyTrue/allFalse/anyFalse: every (all) or some
// (!all) item equals want. Non-boolean items are an error.
func boolsAre(want, all bool) func(*callExpr, *evalCtx, Collection, *frame) (Collection, error) {
	return func(c *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		for _, v := range f {
			s, _ := systemOf(v)
			b, ok := s.(Boolean)
			if !ok {
				return nil, c.errorf("item is %s, expected a boolean", typeName(v))
			}
			if all && bool(b) != want {
				return boolean(false), nil
			}
			if !all && bool(b) == want {
				return boolean(true), nil
			}
		}
		return boolean(all), nil
	}
}

func fnSubset(super bool) func(*callExpr, *evalCtx, Collection, *frame) (Collection, error) {
	return func(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
		other, err := c.arg(ec, 0, fr)
		if err != nil {
			return nil, err
		}
		small, big := f, other
		if super {
			small, big = other, f
		}
		for _, v := range small {
			if !contains(big, v) {
				return boolean(false), nil
			}
		}
		return boolean(true), nil
	}
}

func fnNot(c *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
	b, err := singletonBool(f, c.pos)
	if err != nil {
		return nil, err
	}
	return notTri(b).collection(), nil
}

func init() {
	register("single", 0, 0, func(c *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		if len(f) > 1 {
			return nil, c.errorf("input has %d items, expected at most one", len(f))
		}
		return f, nil
	})
	register("first", 0, 0, func(_ *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		return sliceOf(f, 0, 1), nil
	})
	register("last", 0, 0, func(_ *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		return sliceOf(f, int64(len(f))-1, int64(len(f))), nil
	})
	register("tail", 0, 0, func(_ *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		return sliceOf(f, 1, int64(len(f))), nil
	})
	register("skip", 1, 1, func(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
		n, ok, err := c.intArg(ec, 0, fr)
		if !ok {
			return nil, err
		}
		return sliceOf(f, n, int64(len(f))), nil
	})
	register("take", 1, 1, func(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
		n, ok, err := c.intArg(ec, 0, fr)
		if !ok {
			return nil, err
		}
		return sliceOf(f, 0, n), nil
	})
	register("intersect", 1, 1, func(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
		other, err := c.arg(ec, 0, fr)
		var out Collection
		for _, v := range distinct(f) {
			if contains(other, v) {
				out = append(out, v)
			}
		}
		return out, err
	})
	register("exclude", 1, 1, func(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
		other, err := c.arg(ec, 0, fr)
		var out Collection
		for _, v := range f {
			if !contains(other, v) {
				out = append(out, v)
			}
		}
		return out, err
	})
	register("union", 1, 1, func(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
		other, err := c.arg(ec, 0, fr)
		return distinct(append(append(Collection{}, f...), other...)), err
	})
	register("combine", 1, 1, func(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
		other, err := c.arg(ec, 0, fr)
		return append(append(Collection{}, f...), other...), err
	})
}

// sliceOf returns f[from:to] clamped to the collection.
func sliceOf(f Collection, from, to int64) Collection {
	from = max(from, 0)
	to = min(to, int64(len(f)))
	if from >= to {
		return nil
	}
	return f[from:to]
}
