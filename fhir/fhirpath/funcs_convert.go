package fhirpath

import (
	"regexp"
	"strconv"
	"strings"
)

// converter turns one System value into another type; ok is false when
// the value does not convert.
type converter func(v Value) (Value, bool)

var converters = map[string]converter{
	"Boolean": toBoolean, "Integer": toInteger, "Decimal": toDecimalValue,
	"String": toStringValue, "Date": toDate, "DateTime": toDateTime, "Time": toTime,
	"Quantity": func(v Value) (Value, bool) { return toQuantity(v) },
}

func init() {
	for name, conv := range converters {
		register("to"+name, 0, 0, convertFn(conv, false))
		register("convertsTo"+name, 0, 0, convertFn(conv, true))
	}
	register("toQuantity", 0, 1, fnToQuantity)
}

// convertFn builds toX() (the converted value, empty when it does not
// convert) and convertsToX() (whether it converts).
func convertFn(conv converter, test bool) func(*callExpr, *evalCtx, Collection, *frame) (Collection, error) {
	return func(c *callExpr, _ *evalCtx, f Collection, _ *frame) (Collection, error) {
		v, ok, err := c.singleInput(f)
		if !ok || err != nil {
			return nil, err
		}
		r, ok := conv(v)
		if test {
			return boolean(ok), nil
		}
		if !ok {
			return nil, nil
		}
		return one(r), nil
	}
}

var (
	integerString  = regexp.MustCompile(`^[+-]?\d+$`)
	decimalString  = regexp.MustCompile(`^[+-]?\d+(\.\d+)?$`)
	quantityString = regexp.MustCompile(`^([+-]?\d+(?:\.\d+)?)\s*(?:'([^']+)'|([a-z]+))?$`)
)

func toBoolean(v Value) (Value, bool) {
	switch x := v.(type) {
	case Boolean:
		return x, true
	case Integer:
		if x == 0 || x == 1 {
			return Boolean(x == 1), true
		}
	case Decimal:
		if x.Cmp(DecimalFromInt(0)) == 0 || x.Cmp(DecimalFromInt(1)) == 0 {
			return Boolean(x.Sign() != 0), true
		}
	case String:
		switch strings.ToLower(string(x)) {
		case "true", "t", "yes", "y", "1", "1.0":
			return Boolean(true), true
		case "false", "f", "no", "n", "0", "0.0":
			return Boolean(false), true
		}
	}
	return nil, false
}

func toInteger(v Value) (Value, bool) {
	switch x := v.(type) {
	case Integer:
		return x, true
	case Boolean:
		if x {
			return Integer(1), true
		}
		return Integer(0), true
	case String:
		if integerString.MatchString(string(x)) {
			i, err := strconv.ParseInt(string(x), 10, 64)
			return Integer(i), err == nil
		}
	}
	return nil, false
}

func toDecimalValue(v Value) (Value, bool) {
	switch x := v.(type) {
	case Integer:
		return DecimalFromInt(int64(x)), true
	case Decimal:
		return x, true
	case Boolean:
		if x {
			return mustDecimal("1.0"), true
		}
		return mustDecimal("0.0"), true
	case String:
		if decimalString.MatchString(string(x)) {
			d, err := ParseDecimal(string(x))
			return d, err == nil
		}
	}
	return nil, false
}

func toStringValue(v Value) (Value, bool) {
	switch x := v.(type) {
	case String:
		return x, true
	case Boolean:
		return String(strconv.FormatBool(bool(x))), true
	case Integer:
		return String(strconv.FormatInt(int64(x), 10)), true
	case Decimal:
		return String(x.String()), true
	case Quantity:
		return String(x.String()), true
	case Temporal:
		return String(x.String()), true
	}
	return nil, false
}

func toDate(v Value) (Value, bool) {
	switch x := v.(type) {
	case Temporal:
		if x.Kind == KindTime {
			return nil, false
		}
		x.Kind, x.HasTZ, x.TZMinutes = KindDate, false, 0
		x.Prec = min(x.Prec, PrecDay)
		return x.clearBelow(), true
	case String:
		if t, err := ParseDate(string(x)); err == nil {
			return t, true
		}
		if t, err := ParseDateTime(string(x)); err == nil {
			return toDate(t)
		}
	}
	return nil, false
}

func toDateTime(v Value) (Value, bool) {
	switch x := v.(type) {
	case Temporal:
		if x.Kind == KindTime {
			return nil, false
		}
		x.Kind = KindDateTime
		return x, true
	case String:
		if t, err := ParseDateTime(string(x)); err == nil {
			return t, true
		}
	}
	return nil, false
}

func toTime(v Value) (Value, bool) {
	switch x := v.(type) {
	case Temporal:
		return x, x.Kind == KindTime
	case String:
		if t, err := ParseTime(strings.TrimPrefix(string(x), "T")); err == nil {
			return t, true
		}
	}
	return nil, false
}

func toQuantity(v Value) (Quantity, bool) {
	switch x := v.(type) {
	case Quantity:
		return x, true
	case Integer, Decimal:
		return Quantity{Value: toDecimal(x), Unit: "1"}, true
	case Boolean:
		d, _ := toDecimalValue(x)
		return Quantity{Value: d.(Decimal), Unit: "1"}, true
	case String:
		m := quantityString.FindStringSubmatch(strings.TrimSpace(string(x)))
		if m == nil {
			return Quantity{}, false
		}
		d, err := ParseDecimal(m[1])
		if err != nil {
			return Quantity{}, false
		}
		switch {
		case m[2] != "":
			return Quantity{Value: d, Unit: m[2]}, true
		case m[3] != "":
			if calendarUnits[m[3]] == "" {
				return Quantity{}, false
			}
			return Quantity{Value: d, Unit: m[3], Calendar: true}, true
		}
		return Quantity{Value: d, Unit: "1"}, true
	}
	return Quantity{}, false
}

// fnToQuantity converts to a quantity, and with a unit argument to that
// unit (empty when the units are not convertible).
func fnToQuantity(c *callExpr, ec *evalCtx, f Collection, fr *frame) (Collection, error) {
	v, ok, err := c.singleInput(f)
	if !ok || err != nil {
		return nil, err
	}
	q, ok := toQuantity(v)
	if !ok {
		return nil, nil
	}
	if len(c.args) == 0 {
		return one(q), nil
	}
	unit, ok, err := c.stringArg(ec, 0, fr)
	if !ok || err != nil {
		return nil, err
	}
	target := Quantity{Unit: unit}
	if calendarUnits[unit] != "" {
		target.Calendar = true
	}
	d, ok := convertQuantity(q, target)
	if !ok {
		return nil, nil
	}
	target.Value = d
	return one(target), nil
}
