package fhirpath

import (
	"fmt"
	"strconv"
	"strings"
)

// dims is a unit's dimension vector over the UCUM base units this package
// knows: metre, gram, second, mole, kelvin.
type dims [5]int

// unitInfo is a unit in canonical form: value-in-unit times factor gives the
// value in base units. calendar marks the calendar year and month, which
// are not comparable with UCUM's definite 'a' and 'mo'.
type unitInfo struct {
	factor   Decimal
	dims     dims
	calendar bool
}

type atomDef struct {
	factor string
	dims   dims
	metric bool // takes SI prefixes
}

// ucumAtoms is the part of UCUM the engine converts: time, mass, length,
// volume and amount, with the customary US/British units the FHIR examples
// use. Other units only compare with themselves.
var ucumAtoms = map[string]atomDef{
	"1": {"1", dims{}, false}, "%": {"0.01", dims{}, false},
	"m": {"1", dims{1}, true}, "g": {"1", dims{0, 1}, true}, "s": {"1", dims{0, 0, 1}, true},
	"mol": {"1", dims{0, 0, 0, 1}, true}, "K": {"1", dims{0, 0, 0, 0, 1}, true},
	"L": {"0.001", dims{3}, true}, "l": {"0.001", dims{3}, true},
	"min": {"60", dims{0, 0, 1}, false}, "h": {"3600", dims{0, 0, 1}, false},
	"d": {"86400", dims{0, 0, 1}, false}, "wk": {"604800", dims{0, 0, 1}, false},
	"mo": {"2629800", dims{0, 0, 1}, false}, "a": {"31557600", dims{0, 0, 1}, false},
	"[lb_av]": {"453.59237", dims{0, 1}, false}, "[oz_av]": {"28.349523125", dims{0, 1}, false},
	"[in_i]": {"0.0254", dims{1}, false}, "[ft_i]": {"0.3048", dims{1}, false},
	"[mi_i]": {"1609.344", dims{1}, false}, "[yd_i]": {"0.9144", dims{1}, false},
}

var ucumPrefixes = map[string]string{
	"k": "1000", "h": "100", "da": "10", "d": "0.1", "c": "0.01", "m": "0.001",
	"u": "0.000001", "n": "0.000000001", "p": "0.000000000001", "M": "1000000", "G": "1000000000",
}

// calendarUCUM maps calendar keywords to the UCUM unit they equal; year
// and month have no definite equivalent.
var calendarUCUM = map[string]string{
	"week": "wk", "day": "d", "hour": "h", "minute": "min", "second": "s", "millisecond": "ms",
}

// unitOf parses a quantity's unit. ok is false for units outside the table.
func unitOf(q Quantity) (unitInfo, bool) {
	if q.Calendar {
		u := calendarUnits[q.Unit]
		switch u {
		case "year":
			return unitInfo{factor: mustDecimal("31557600"), dims: dims{0, 0, 1}, calendar: true}, true
		case "month":
			return unitInfo{factor: mustDecimal("2629800"), dims: dims{0, 0, 1}, calendar: true}, true
		}
		return parseUnit(calendarUCUM[u])
	}
	return parseUnit(q.Unit)
}

func mustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// parseUnit reads a UCUM expression made of atoms with optional prefixes
// and exponents joined by '.' and '/', such as mg/dL, m2 or kg.m-2.
func parseUnit(s string) (unitInfo, bool) {
	s = stripAnnotations(s)
	if s == "" {
		s = "1"
	}
	u := unitInfo{factor: DecimalFromInt(1)}
	sign := 1
	for len(s) > 0 {
		if s[0] == '/' || s[0] == '.' {
			if s[0] == '/' {
				sign = -1
			} else {
				sign = 1
			}
			s = s[1:]
			continue
		}
		end := strings.IndexAny(s, "./")
		if end < 0 {
			end = len(s)
		}
		comp, ok := parseComponent(s[:end])
		if !ok {
			return unitInfo{}, false
		}
		u = u.times(comp, sign)
		s = s[end:]
	}
	return u, true
}

func stripAnnotations(s string) string {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return s
		}
		rest := s[i+j+1:]
		if i == 0 || s[i-1] == '.' || s[i-1] == '/' {
			if rest == "" || rest[0] == '.' || rest[0] == '/' {
				s = s[:i] + "1" + rest
				continue
			}
		}
		s = s[:i] + rest
	}
}

// parseComponent reads one atom with its prefix and exponent.
func parseComponent(c string) (unitInfo, bool) {
	i := len(c)
	for i > 0 && (c[i-1] >= '0' && c[i-1] <= '9') {
		i--
	}
	if i > 0 && (c[i-1] == '-' || c[i-1] == '+') && i < len(c) {
		i--
	}
	exp := 1
	atom := c
	if i < len(c) && i > 0 {
		e, err := strconv.Atoi(c[i:])
		if err != nil || e == 0 || e > 9 || e < -9 {
			return unitInfo{}, false
		}
		exp, atom = e, c[:i]
	}
	base, ok := atomUnit(atom)
	if !ok {
		return unitInfo{}, false
	}
	r := unitInfo{factor: DecimalFromInt(1)}
	if exp < 0 {
		return r.times(base, -1).pow(-exp), true
	}
	return base.pow(exp), true
}

func atomUnit(a string) (unitInfo, bool) {
	if d, ok := ucumAtoms[a]; ok {
		return unitInfo{factor: mustDecimal(d.factor), dims: d.dims}, true
	}
	for p, f := range ucumPrefixes {
		if d, ok := ucumAtoms[strings.TrimPrefix(a, p)]; ok && strings.HasPrefix(a, p) && d.metric {
			return unitInfo{factor: mustDecimal(d.factor).Mul(mustDecimal(f)), dims: d.dims}, true
		}
	}
	return unitInfo{}, false
}

// times multiplies (sign 1) or divides (sign -1) two units.
func (u unitInfo) times(v unitInfo, sign int) unitInfo {
	r := unitInfo{calendar: u.calendar || v.calendar}
	for i := range r.dims {
		r.dims[i] = u.dims[i] + sign*v.dims[i]
	}
	if sign > 0 {
		r.factor = exactMul(u.factor, v.factor)
	} else {
		r.factor, _ = exactDiv(u.factor, v.factor)
	}
	return r
}

func (u unitInfo) pow(n int) unitInfo {
	r := unitInfo{factor: DecimalFromInt(1)}
	for range n {
		r = r.times(u, 1)
	}
	return r
}

func exactMul(a, b Decimal) Decimal {
	return Decimal{u: a.withScale(a.scale).Mul(a.big(), b.big()), scale: a.scale + b.scale}.trimTo(0)
}

// exactDiv divides keeping up to 30 fractional digits; unit factors are
// powers of ten and short decimals, so this is exact in practice.
func exactDiv(a, b Decimal) (Decimal, bool) {
	if b.Sign() == 0 {
		return Decimal{}, false
	}
	const s = 30
	num := a.withScale(a.scale + s + b.scale)
	num.Quo(num, b.big())
	return Decimal{u: num, scale: a.scale + s}.trimTo(0), true
}

// convertQuantity expresses q in the unit of target. ok is false when the
// units are unknown or measure different things.
func convertQuantity(q, target Quantity) (Decimal, bool) {
	if q.Unit == target.Unit && q.Calendar == target.Calendar {
		return q.Value, true
	}
	if sameCalendarUnit(q, target) {
		return q.Value, true
	}
	from, ok1 := unitOf(q)
	to, ok2 := unitOf(target)
	if !ok1 || !ok2 || from.dims != to.dims {
		return Decimal{}, false
	}
	if (from.calendar || to.calendar) && !(q.Calendar && target.Calendar) {
		return Decimal{}, false
	}
	base := exactMul(q.Value, from.factor)
	v, ok := exactDiv(base, to.factor)
	if !ok {
		return Decimal{}, false
	}
	// Keep the precision the value was written with, plus what the unit
	// change adds, so equivalence rounds sensibly.
	return v.trimTo(q.Value.scale), true
}

func sameCalendarUnit(a, b Quantity) bool {
	ua, ub := a.Unit, b.Unit
	if a.Calendar {
		ua = calendarUnits[ua]
	}
	if b.Calendar {
		ub = calendarUnits[ub]
	}
	return a.Calendar == b.Calendar && ua == ub
}

// compareQuantities orders two quantities after unit conversion.
func compareQuantities(a, b Quantity) (int, bool) {
	bv, ok := convertQuantity(b, a)
	if !ok {
		return 0, false
	}
	return a.Value.Cmp(bv), true
}

// multiplyQuantities returns a*b (sign 1) or a/b (sign -1) with a compound
// unit.
func multiplyQuantities(a, b Quantity, sign int) (Quantity, error) {
	ua, ok1 := unitOf(a)
	ub, ok2 := unitOf(b)
	if !ok1 || !ok2 {
		return Quantity{}, fmt.Errorf("unknown unit in %s or %s", a, b)
	}
	u := ua.times(ub, sign)
	var v Decimal
	if sign > 0 {
		v = a.Value.Mul(b.Value)
	} else {
		d, ok := a.Value.Div(b.Value)
		if !ok {
			return Quantity{}, errDivZero
		}
		v = d
	}
	// Express the result in base units scaled by the combined factor.
	v = exactMul(v, u.factor)
	return Quantity{Value: v, Unit: baseUnitString(u.dims)}, nil
}

var errDivZero = fmt.Errorf("division by zero")

func baseUnitString(d dims) string {
	names := []string{"m", "g", "s", "mol", "K"}
	var num, den []string
	for i, e := range d {
		switch {
		case e == 1:
			num = append(num, names[i])
		case e > 1:
			num = append(num, names[i]+strconv.Itoa(e))
		case e == -1:
			den = append(den, names[i])
		case e < -1:
			den = append(den, names[i]+strconv.Itoa(-e))
		}
	}
	s := strings.Join(num, ".")
	if s == "" {
		s = "1"
	}
	for _, d := range den {
		s += "/" + d
	}
	return s
}
