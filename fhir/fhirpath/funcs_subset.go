package fhirpath

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
