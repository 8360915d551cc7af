package fhirpath

func init() {
	register("lowBoundary", 0, 1, boundaryFn(false))
	register("highBoundary", 0, 1, boundaryFn(true))
	register("precision", 0, 0, numberFn(func(c *callExpr, v Value) (Value, error) {
		switch x := v.(type) {
		case Decimal:
			return Integer(x.scale), nil
		case Integer:
			return Integer(0), nil
		case Temporal:
			return Integer(temporalDigits(x.Kind, x.Prec)), nil
		}
		return nil, c.errorf("input is %s, which has no precision", typeName(v))
	}))
	register("comparable", 1, 1, func(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
		v, ok, err := c.singleInput(f)
		if !ok || err != nil {
			return nil, err
		}
		w, ok, err := c.singleArg(ec, 0, fr)
		if !ok || err != nil {
			return nil, err
		}
		a, okA := v.(Quantity)
		b, okB := w.(Quantity)
		if !okA || !okB {
			return nil, c.errorf("comparable() needs quantities")
		}
		_, ok = convertQuantity(b, a)
		return boolean(ok), nil
	})
}

// maxBoundaryDigits is the largest decimal precision lowBoundary and
// highBoundary accept; beyond it the result is empty.
const maxBoundaryDigits = 28

// boundaryFn builds lowBoundary/highBoundary: the least or greatest value
// the input could stand for given its precision, at the requested
// precision (8 fractional digits for decimals, full precision for dates).
func boundaryFn(high bool) func(*callExpr, *evalCtx, Collection, *frame) (Collection, error) {
	return func(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
		v, ok, err := c.singleInput(f)
		if !ok || err != nil {
			return nil, err
		}
		p, hasP, err := c.intArg(ec, 0, fr)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case Integer, Decimal:
			if !hasP {
				p = 8
			}
			d, ok := decimalBoundary(toDecimal(x), int(p), high)
			if !ok {
				return nil, nil
			}
			return one(d), nil
		case Quantity:
			if !hasP {
				p = 8
			}
			d, ok := decimalBoundary(x.Value, int(p), high)
			if !ok {
				return nil, nil
			}
			x.Value = d
			return one(x), nil
		case Temporal:
			t, ok := temporalBoundary(x, int(p), hasP, high)
			if !ok {
				return nil, nil
			}
			return one(t), nil
		}
		return nil, c.errorf("input is %s, which has no boundary", typeName(v))
	}
}

// decimalBoundary widens d by half a unit in its last digit and cuts the
// result to p fractional digits, away from d. Negative values mirror the
// positive ones; a value with nothing significant at p digits is zero.
func decimalBoundary(d Decimal, p int, high bool) (Decimal, bool) {
	if p < 0 || p > maxBoundaryDigits {
		return Decimal{}, false
	}
	if d.Sign() < 0 {
		r, ok := decimalBoundary(d.Neg(), p, !high)
		return r.Neg(), ok
	}
	if d.Truncate(p).Sign() == 0 && d.scale > p {
		return Decimal{u: d.Truncate(p).big(), scale: p}, true
	}
	half := Decimal{u: bigFive(), scale: d.scale + 1}
	if high {
		return d.Add(half).ceilingAt(p), true
	}
	return d.Sub(half).floorAt(p), true
}

func (d Decimal) floorAt(p int) Decimal {
	t := d.Truncate(p)
	if d.Sign() < 0 && t.Cmp(d) != 0 {
		t = t.Sub(Decimal{u: bigOne(), scale: p})
	}
	return t
}

func (d Decimal) ceilingAt(p int) Decimal {
	t := d.Truncate(p)
	if d.Sign() > 0 && t.Cmp(d) != 0 {
		t = t.Add(Decimal{u: bigOne(), scale: p})
	}
	return t
}

func temporalDigits(k TemporalKind, p Precision) int {
	if k == KindTime {
		return map[Precision]int{PrecHour: 2, PrecMinute: 4, PrecSecond: 6, PrecMilli: 9}[p]
	}
	return map[Precision]int{PrecYear: 4, PrecMonth: 6, PrecDay: 8, PrecHour: 10,
		PrecMinute: 12, PrecSecond: 14, PrecMilli: 17}[p]
}

func precisionFromDigits(k TemporalKind, digits int) (Precision, bool) {
	for p := PrecYear; p <= PrecMilli; p++ {
		if (k != KindTime || p >= PrecHour) && (k != KindDate || p <= PrecDay) && temporalDigits(k, p) == digits {
			return p, true
		}
	}
	return 0, false
}

// temporalBoundary fills the unknown fields of t with their least (or
// greatest) values up to the requested precision. A date-time without a
// zone takes the widest zone, +14:00 low and -12:00 high.
func temporalBoundary(t Temporal, digits int, hasDigits, high bool) (Temporal, bool) {
	target := PrecMilli
	if t.Kind == KindDate {
		target = PrecDay
	}
	if hasDigits {
		p, ok := precisionFromDigits(t.Kind, digits)
		if !ok {
			return Temporal{}, false
		}
		target = p
	}
	r := t
	if r.Prec == PrecHour && target > PrecHour {
		r.Prec = PrecMinute
	}
	for p := r.Prec + 1; p <= target; p++ {
		setField(&r, p, high)
	}
	r.Prec = target
	r = r.clearBelow()
	if r.Kind == KindDateTime && target >= PrecHour && !r.HasTZ {
		r.HasTZ, r.TZMinutes = true, 14*60
		if high {
			r.TZMinutes = -12 * 60
		}
	}
	return r, true
}

func setField(t *Temporal, p Precision, high bool) {
	switch p {
	case PrecMonth:
		t.Month = pick(high, 1, 12)
	case PrecDay:
		t.Day = pick(high, 1, daysIn(t.Year, max(t.Month, 1)))
	case PrecHour:
		t.Hour = pick(high, 0, 23)
	case PrecMinute:
		t.Minute = pick(high, 0, 59)
	case PrecSecond:
		t.Second = pick(high, 0, 59)
	case PrecMilli:
		t.Milli = pick(high, 0, 999)
	}
}

func pick(high bool, low, hi int) int {
	if high {
		return hi
	}
	return low
}
