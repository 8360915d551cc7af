package fhirpath

import (
	"fmt"
	"math"
	"math/big"
	"strings"
)

// Decimal is a FHIRPath System.Decimal: an exact base-10 number that
// remembers how many digits follow the decimal point, so 1.0 and 1.00 are
// equal in value while still printing as written.
type Decimal struct {
	u     *big.Int // unscaled value; the number is u * 10^-scale
	scale int
}

// divisionScale is the number of fractional digits kept by a division whose
// result does not terminate.
const divisionScale = 8

// maxDecimalScale bounds the fractional digits a decimal may carry, so a
// hostile expression cannot grow numbers without limit.
const maxDecimalScale = 64

var bigTen = big.NewInt(10)

func pow10(n int) *big.Int {
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// ParseDecimal reads a decimal in FHIR's lexical form, such as "-12.50".
func ParseDecimal(s string) (Decimal, error) {
	t := s
	neg := false
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		neg = t[0] == '-'
		t = t[1:]
	}
	intPart, frac, hasDot := strings.Cut(t, ".")
	if intPart == "" || (hasDot && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return Decimal{}, fmt.Errorf("not a decimal: %q", s)
	}
	if len(frac) > maxDecimalScale || len(intPart) > 40 {
		return Decimal{}, fmt.Errorf("decimal out of range: %q", s)
	}
	u, _ := new(big.Int).SetString(intPart+frac, 10)
	if neg {
		u.Neg(u)
	}
	return Decimal{u: u, scale: len(frac)}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DecimalFromInt converts an integer to a decimal with no fractional digits.
func DecimalFromInt(i int64) Decimal { return Decimal{u: big.NewInt(i)} }

func (d Decimal) big() *big.Int {
	if d.u == nil {
		return new(big.Int)
	}
	return d.u
}

// String prints the decimal with exactly its scale of fractional digits.
func (d Decimal) String() string {
	s := new(big.Int).Abs(d.big()).String()
	neg := d.big().Sign() < 0
	if d.scale > 0 {
		if len(s) <= d.scale {
			s = strings.Repeat("0", d.scale-len(s)+1) + s
		}
		s = s[:len(s)-d.scale] + "." + s[len(s)-d.scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// withScale returns the unscaled value at a larger scale.
func (d Decimal) withScale(scale int) *big.Int {
	if scale <= d.scale {
		return new(big.Int).Set(d.big())
	}
	return new(big.Int).Mul(d.big(), pow10(scale-d.scale))
}

// Cmp compares two decimals by value: -1, 0 or +1.
func (d Decimal) Cmp(e Decimal) int {
	s := max(d.scale, e.scale)
	return d.withScale(s).Cmp(e.withScale(s))
}

// Sign reports -1, 0 or +1.
func (d Decimal) Sign() int { return d.big().Sign() }

// Add returns d+e at the larger scale.
func (d Decimal) Add(e Decimal) Decimal {
	s := max(d.scale, e.scale)
	return Decimal{u: new(big.Int).Add(d.withScale(s), e.withScale(s)), scale: s}
}

// Sub returns d-e at the larger scale.
func (d Decimal) Sub(e Decimal) Decimal { return d.Add(e.Neg()) }

// Neg returns -d.
func (d Decimal) Neg() Decimal { return Decimal{u: new(big.Int).Neg(d.big()), scale: d.scale} }

// Mul returns d*e, trimmed of trailing fractional zeros beyond the larger
// operand scale.
func (d Decimal) Mul(e Decimal) Decimal {
	r := Decimal{u: new(big.Int).Mul(d.big(), e.big()), scale: d.scale + e.scale}
	return r.trimTo(max(d.scale, e.scale))
}

// Div returns d/e; ok is false when e is zero. A non-terminating quotient is
// rounded to eight fractional digits; trailing zeros are trimmed.
func (d Decimal) Div(e Decimal) (Decimal, bool) {
	if e.Sign() == 0 {
		return Decimal{}, false
	}
	s := divisionScale
	num := new(big.Int).Mul(d.big(), pow10(s+e.scale+1))
	den := new(big.Int).Mul(e.big(), pow10(d.scale))
	q := new(big.Int).Quo(num, den)
	r := Decimal{u: q, scale: s + 1}.Round(s)
	return r.trimTo(0), true
}

// trimTo drops trailing fractional zeros while the scale exceeds min.
func (d Decimal) trimTo(min int) Decimal {
	u := new(big.Int).Set(d.big())
	s := d.scale
	m := new(big.Int)
	for s > min {
		q, r := new(big.Int).QuoRem(u, bigTen, m)
		if r.Sign() != 0 {
			break
		}
		u = q
		s--
	}
	return Decimal{u: u, scale: s}
}

// Round rounds half away from zero to the given number of fractional digits.
func (d Decimal) Round(digits int) Decimal {
	if digits >= d.scale {
		return Decimal{u: d.withScale(digits), scale: digits}
	}
	p := pow10(d.scale - digits)
	u := new(big.Int).Abs(d.big())
	q, r := new(big.Int).QuoRem(u, p, new(big.Int))
	if new(big.Int).Mul(r, big.NewInt(2)).Cmp(p) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if d.Sign() < 0 {
		q.Neg(q)
	}
	return Decimal{u: q, scale: digits}
}

// Truncate drops the fractional digits beyond the given count (toward zero).
func (d Decimal) Truncate(digits int) Decimal {
	if digits >= d.scale {
		return Decimal{u: d.withScale(digits), scale: digits}
	}
	return Decimal{u: new(big.Int).Quo(d.big(), pow10(d.scale-digits)), scale: digits}
}

// Floor returns the greatest integer not above d.
func (d Decimal) Floor() Decimal {
	t := d.Truncate(0)
	if d.Sign() < 0 && t.Cmp(d) != 0 {
		t = t.Sub(DecimalFromInt(1))
	}
	return t
}

// Ceiling returns the least integer not below d.
func (d Decimal) Ceiling() Decimal {
	t := d.Truncate(0)
	if d.Sign() > 0 && t.Cmp(d) != 0 {
		t = t.Add(DecimalFromInt(1))
	}
	return t
}

// Int64 returns the integer value when d is whole and fits in 64 bits.
func (d Decimal) Int64() (int64, bool) {
	t := d.Truncate(0)
	if t.Cmp(d) != 0 || !t.u.IsInt64() {
		return 0, false
	}
	return t.u.Int64(), true
}

// Float64 returns the nearest float64, for the transcendental functions.
func (d Decimal) Float64() float64 {
	f, _ := new(big.Rat).SetFrac(d.big(), pow10(d.scale)).Float64()
	return f
}

// DecimalFromFloat converts a finite float64 to a decimal with up to eight
// fractional digits, trailing zeros trimmed.
func DecimalFromFloat(f float64) (Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e30 {
		return Decimal{}, false
	}
	d, err := ParseDecimal(fmt.Sprintf("%.*f", divisionScale, f))
	if err != nil {
		return Decimal{}, false
	}
	return d.trimTo(0), true
}

// Scale returns the number of fractional digits.
func (d Decimal) Scale() int { return d.scale }

func bigOne() *big.Int  { return big.NewInt(1) }
func bigFive() *big.Int { return big.NewInt(5) }
