package fhirpath

import (
	"encoding/json"
	"strings"
)

// tri is a three-valued logic result: true, false or empty (unknown).
type tri int

const (
	triEmpty tri = iota
	triFalse
	triTrue
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func (t tri) collection() Collection {
	switch t {
	case triTrue:
		return Collection{Boolean(true)}
	case triFalse:
		return Collection{Boolean(false)}
	}
	return nil
}

// collectionsEqual implements = on collections: empty if either side is
// empty, false if the sizes differ, else item by item in order.
func collectionsEqual(a, b Collection) tri {
	if len(a) == 0 || len(b) == 0 {
		return triEmpty
	}
	if len(a) != len(b) {
		return triFalse
	}
	result := triTrue
	for i := range a {
		switch valuesEqual(a[i], b[i]) {
		case triFalse:
			return triFalse
		case triEmpty:
			result = triEmpty
		}
	}
	return result
}

// valuesEqual compares two items: numbers by value, dates with precision
// rules (unknown when precision differs), quantities after unit
// conversion, FHIR complex elements member by member.
func valuesEqual(a, b Value) tri {
	if x, ok := a.(Integer); ok {
		if y, ok := b.(Integer); ok {
			return triOf(x == y)
		}
	}
	sa, okA := systemOf(a)
	sb, okB := systemOf(b)
	if !okA || !okB {
		na, _ := a.(*Node)
		nb, _ := b.(*Node)
		if na != nil && nb != nil {
			return triOf(jsonEqual(na.JSON, nb.JSON) && jsonEqual(extOrNil(na), extOrNil(nb)))
		}
		if ta, ok := a.(TypeInfo); ok {
			tb, ok := b.(TypeInfo)
			return triOf(ok && ta == tb)
		}
		return triFalse
	}
	sa, sb = coerceStrings(sa, sb)
	switch x := sa.(type) {
	case Boolean, String:
		return triOf(sa == sb)
	case Integer, Decimal:
		if !isNumber(sb) {
			return triFalse
		}
		return triOf(toDecimal(x).Cmp(toDecimal(sb)) == 0)
	case Temporal:
		y, ok := sb.(Temporal)
		if !ok || !temporalKindsMeet(x, y) {
			return triFalse
		}
		c, known := compareTemporal(x, y)
		if !known {
			return triEmpty
		}
		return triOf(c == 0)
	case Quantity:
		y, ok := sb.(Quantity)
		if !ok {
			return triFalse
		}
		c, known := compareQuantities(x, y)
		if !known {
			return triEmpty
		}
		return triOf(c == 0)
	}
	return triFalse
}

// temporalKindsMeet allows Date against DateTime but not Time against a
// date.
func temporalKindsMeet(a, b Temporal) bool {
	return (a.Kind == KindTime) == (b.Kind == KindTime)
}

func isNumber(v Value) bool {
	switch v.(type) {
	case Integer, Decimal:
		return true
	}
	return false
}

// coerceStrings lets a string from a FHIR element of unknown type meet a
// date or time literal: the string is read as that kind of value.
func coerceStrings(a, b Value) (Value, Value) {
	if s, ok := a.(String); ok {
		if t, ok := b.(Temporal); ok {
			if p, ok := parseAsKind(string(s), t.Kind); ok {
				return p, b
			}
		}
	}
	if s, ok := b.(String); ok {
		if t, ok := a.(Temporal); ok {
			if p, ok := parseAsKind(string(s), t.Kind); ok {
				return a, p
			}
		}
	}
	return a, b
}

func parseAsKind(s string, k TemporalKind) (Temporal, bool) {
	var (
		t   Temporal
		err error
	)
	switch k {
	case KindDate:
		t, err = ParseDate(s)
	case KindDateTime:
		t, err = ParseDateTime(s)
	default:
		t, err = ParseTime(s)
	}
	return t, err == nil
}

// collectionsEquivalent implements ~: both empty is true, order does not
// matter, strings ignore case and whitespace, decimals compare at the
// lesser precision.
func collectionsEquivalent(a, b Collection) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
	for _, x := range a {
		found := false
		for j, y := range b {
			if !used[j] && valuesEquivalent(x, y) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func valuesEquivalent(a, b Value) bool {
	sa, okA := systemOf(a)
	sb, okB := systemOf(b)
	if !okA || !okB {
		return valuesEqual(a, b) == triTrue
	}
	sa, sb = coerceStrings(sa, sb)
	switch x := sa.(type) {
	case String:
		y, ok := sb.(String)
		return ok && normalizeSpace(string(x)) == normalizeSpace(string(y))
	case Integer, Decimal:
		return isNumber(sb) && decimalsEquivalent(toDecimal(x), toDecimal(sb))
	case Temporal:
		y, ok := sb.(Temporal)
		if !ok || mergeSeconds(x.Prec) != mergeSeconds(y.Prec) || !temporalKindsMeet(x, y) {
			return false
		}
		c, known := compareTemporal(x, y)
		return known && c == 0
	case Quantity:
		y, ok := sb.(Quantity)
		if !ok {
			return false
		}
		yv, ok := convertQuantity(y, x)
		return ok && decimalsEquivalent(x.Value, yv)
	}
	return valuesEqual(sa, sb) == triTrue
}

func decimalsEquivalent(a, b Decimal) bool {
	p := min(a.scale, b.scale)
	return a.Round(p).Cmp(b.Round(p)) == 0
}

func normalizeSpace(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// contains reports whether c holds an item equal to v.
func contains(c Collection, v Value) bool {
	for _, x := range c {
		if valuesEqual(x, v) == triTrue {
			return true
		}
	}
	return false
}

// distinct removes later duplicates, keeping the first of equal items.
// A longer collection of strings (isDistinct() over ids, fullUrls and
// linkIds) is deduplicated through a set, as string equality is plain
// equality of the values; anything else is compared pairwise.
func distinct(c Collection) Collection {
	if len(c) > 8 {
		if out, ok := distinctStrings(c); ok {
			return out
		}
	}
	var out Collection
	for _, v := range c {
		if !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// distinctStrings is distinct for a collection whose items are all
// strings (ok false otherwise).
func distinctStrings(c Collection) (out Collection, ok bool) {
	seen := make(map[String]struct{}, len(c))
	for _, v := range c {
		s, _ := systemOf(v)
		str, isString := s.(String)
		if !isString {
			return nil, false
		}
		if _, dup := seen[str]; !dup {
			seen[str] = struct{}{}
			out = append(out, v)
		}
	}
	return out, true
}

func extOrNil(n *Node) any {
	if n.Ext == nil {
		return nil
	}
	return n.Ext
}

// jsonEqual compares decoded JSON member by member; numbers compare by
// decimal value, so 1.0 and 1.00 are equal.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		dx, errX := ParseDecimal(string(x))
		dy, errY := ParseDecimal(string(y))
		if errX != nil || errY != nil {
			return x == y
		}
		return dx.Cmp(dy) == 0
	case string, bool, nil:
		return a == b
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	}
	return false
}
