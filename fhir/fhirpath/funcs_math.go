package fhirpath

import "math"

func init() {
	register("abs", 0, 0, numberFn(func(c *callExpr, v Value) (Value, error) {
		switch x := v.(type) {
		case Integer:
			if x < 0 {
				return -x, nil
			}
			return x, nil
		case Decimal:
			if x.Sign() < 0 {
				return x.Neg(), nil
			}
			return x, nil
		case Quantity:
			if x.Value.Sign() < 0 {
				x.Value = x.Value.Neg()
			}
			return x, nil
		}
		return nil, c.errorf("input is %s, expected a number", typeName(v))
	}))
	register("ceiling", 0, 0, decimalToInt(Decimal.Ceiling))
	register("floor", 0, 0, decimalToInt(Decimal.Floor))
	register("truncate", 0, 0, decimalToInt(func(d Decimal) Decimal { return d.Truncate(0) }))
	register("exp", 0, 0, floatFn(math.Exp))
	register("ln", 0, 0, floatFn(math.Log))
	register("sqrt", 0, 0, floatFn(math.Sqrt))
	register("log", 1, 1, fnLog)
	register("power", 1, 1, fnPower)
	register("round", 0, 1, fnRound)
}

// numberFn adapts a function of a single numeric input.
func numberFn(fn func(*callExpr, Value) (Value, error)) func(*callExpr, *evalCtx, Collection, *frame) (Collection, error) {
	return func(c *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		v, ok, err := c.singleInput(f)
		if !ok || err != nil {
			return nil, err
		}
		r, err := fn(c, v)
		if r == nil || err != nil {
			return nil, err
		}
		return one(r), nil
	}
}

func decimalToInt(fn func(Decimal) Decimal) func(*callExpr, *evalCtx, Collection, *frame) (Collection, error) {
	return numberFn(func(c *callExpr, v Value) (Value, error) {
		if !isNumber(v) {
			return nil, c.errorf("input is %s, expected a number", typeName(v))
		}
		i, ok := fn(toDecimal(v)).Int64()
		if !ok {
			return nil, c.errorf("result out of range")
		}
		return Integer(i), nil
	})
}

// floatFn computes a transcendental function in float64 and returns a
// decimal; NaN and infinities give an empty result.
func floatFn(fn func(float64) float64) func(*callExpr, *evalCtx, Collection, *frame) (Collection, error) {
	return numberFn(func(c *callExpr, v Value) (Value, error) {
		if !isNumber(v) {
			return nil, c.errorf("input is %s, expected a number", typeName(v))
		}
		d, ok := DecimalFromFloat(fn(toDecimal(v).Float64()))
		if !ok {
			return nil, nil
		}
		return d, nil
	})
}

func fnLog(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	base, ok, err := c.singleArg(ec, 0, fr)
	if !ok || err != nil {
		return nil, err
	}
	if !isNumber(base) {
		return nil, c.errorf("base is %s, expected a number", typeName(base))
	}
	b := toDecimal(base).Float64()
	return floatFn(func(x float64) float64 { return math.Log(x) / math.Log(b) })(c, ec, f, fr)
}

func fnPower(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	e, ok, err := c.singleArg(ec, 0, fr)
	if !ok || err != nil {
		return nil, err
	}
	v, ok, err := c.singleInput(f)
	if !ok || err != nil {
		return nil, err
	}
	if !isNumber(v) || !isNumber(e) {
		return nil, c.errorf("power needs numbers")
	}
	bi, okB := v.(Integer)
	ei, okE := e.(Integer)
	if okB && okE && ei >= 0 {
		r := math.Pow(float64(bi), float64(ei))
		if r < math.MaxInt64 && r > math.MinInt64 {
			return one(Integer(int64(r))), nil
		}
		return nil, nil
	}
	d, ok := DecimalFromFloat(math.Pow(toDecimal(v).Float64(), toDecimal(e).Float64()))
	if !ok {
		return nil, nil
	}
	return one(d), nil
}

func fnRound(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	digits := int64(0)
	if len(c.args) > 0 {
		n, ok, err := c.intArg(ec, 0, fr)
		if err != nil {
			return nil, err
		}
		if ok {
			if n < 0 || n > maxDecimalScale {
				return nil, c.errorf("precision %d out of range", n)
			}
			digits = n
		}
	}
	return numberFn(func(c *callExpr, v Value) (Value, error) {
		if !isNumber(v) {
			return nil, c.errorf("input is %s, expected a number", typeName(v))
		}
		return toDecimal(v).Round(int(digits)), nil
	})(c, ec, f, fr)
}
