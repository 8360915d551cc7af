package fhirpath

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Value is one item of a FHIRPath collection: a System value (Boolean,
// String, Integer, Decimal, Temporal, Quantity), a FHIR element (*Node) or
// a TypeInfo returned by type().
type Value interface {
	// TypeOf names the value's type in the System or FHIR namespace.
	TypeOf() TypeInfo
}

// Collection is an ordered FHIRPath collection.
type Collection []Value

// Boolean is System.Boolean.
type Boolean bool

// String is System.String.
type String string

// Integer is System.Integer (64 bits wide here).
type Integer int64

// Quantity is System.Quantity: a decimal with a UCUM unit, or a calendar
// duration (year, month, ... millisecond) when Calendar is set.
type Quantity struct {
	Value    Decimal
	Unit     string
	Calendar bool
}

// TypeInfo names a type; it is also the value type() returns, with the
// members namespace and name.
type TypeInfo struct {
	Namespace string // "System" or "FHIR"
	Name      string
}

// TypeOf implements Value.
func (Boolean) TypeOf() TypeInfo { return TypeInfo{"System", "Boolean"} }

// TypeOf implements Value.
func (String) TypeOf() TypeInfo { return TypeInfo{"System", "String"} }

// TypeOf implements Value.
func (Integer) TypeOf() TypeInfo { return TypeInfo{"System", "Integer"} }

// TypeOf implements Value.
func (Decimal) TypeOf() TypeInfo { return TypeInfo{"System", "Decimal"} }

// TypeOf implements Value.
func (Quantity) TypeOf() TypeInfo { return TypeInfo{"System", "Quantity"} }

// TypeOf implements Value.
func (TypeInfo) TypeOf() TypeInfo { return TypeInfo{"System", "SimpleTypeInfo"} }

// TypeOf implements Value.
func (t Temporal) TypeOf() TypeInfo {
	switch t.Kind {
	case KindDate:
		return TypeInfo{"System", "Date"}
	case KindTime:
		return TypeInfo{"System", "Time"}
	}
	return TypeInfo{"System", "DateTime"}
}

// String prints the quantity as a FHIRPath literal: 4 'mg' or 1 week.
func (q Quantity) String() string {
	if q.Calendar {
		return q.Value.String() + " " + q.Unit
	}
	return q.Value.String() + " '" + q.Unit + "'"
}

// Node is a FHIR element inside a decoded JSON resource: a complex element
// (JSON object), a primitive (string, json.Number, bool) with its optional
// "_name" sibling holding id and extensions, or a resource.
type Node struct {
	Name   string         // element name in the parent; "" for the root
	Type   string         // FHIR type name, "" when the model does not know it
	JSON   any            // map[string]any, string, json.Number, bool or nil
	Ext    map[string]any // the primitive's "_name" object, if any
	Parent *Node
}

// TypeOf implements Value.
func (n *Node) TypeOf() TypeInfo { return TypeInfo{"FHIR", n.Type} }

// Object returns the element's JSON object, or nil for a primitive.
func (n *Node) Object() map[string]any {
	m, _ := n.JSON.(map[string]any)
	return m
}

// system converts a FHIR primitive to its System value. ok is false for
// complex elements and primitives without a value.
func (n *Node) system() (Value, bool) {
	switch v := n.JSON.(type) {
	case bool:
		return Boolean(v), true
	case json.Number:
		return numberValue(string(v), n.Type)
	case float64:
		return numberValue(strconv.FormatFloat(v, 'f', -1, 64), n.Type)
	case string:
		return stringValue(v, n.Type), true
	}
	return nil, false
}

func numberValue(s, typ string) (Value, bool) {
	if typ != "decimal" && !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return Integer(i), true
		}
	}
	d, err := ParseDecimal(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil {
			return nil, false
		}
		d, _ = DecimalFromFloat(f)
	}
	return d, true
}

// stringValue maps FHIR's string-shaped primitives to System values by
// type: dates and times become Temporal, the rest String.
func stringValue(s, typ string) Value {
	var (
		t   Temporal
		err error
	)
	switch typ {
	case "date":
		t, err = ParseDate(s)
	case "dateTime", "instant":
		if t, err = ParseDateTime(s); err != nil {
			if t, err = ParseDate(s); err == nil {
				t.Kind = KindDateTime
			}
		}
	case "time":
		t, err = ParseTime(s)
	default:
		return String(s)
	}
	if err != nil {
		return String(s)
	}
	return t
}

// systemOf returns v itself for System values, or the System value of a
// FHIR primitive; ok is false for complex elements.
func systemOf(v Value) (Value, bool) {
	if n, ok := v.(*Node); ok {
		if q, ok := n.quantity(); ok {
			return q, true
		}
		return n.system()
	}
	if _, ok := v.(TypeInfo); ok {
		return v, false
	}
	return v, true
}

func toDecimal(v Value) Decimal {
	switch x := v.(type) {
	case Integer:
		return DecimalFromInt(int64(x))
	case Decimal:
		return x
	}
	return Decimal{}
}

// quantityTypes are FHIR's Quantity and its profiles, which convert
// implicitly to System.Quantity.
var quantityTypes = map[string]bool{
	"Quantity": true, "Age": true, "Duration": true, "Count": true,
	"Distance": true, "SimpleQuantity": true, "MoneyQuantity": true,
}

// quantity converts a FHIR Quantity element to System.Quantity, using the
// UCUM code when the system is UCUM and the human unit otherwise.
func (n *Node) quantity() (Quantity, bool) {
	m := n.Object()
	if m == nil || !quantityTypes[n.Type] {
		return Quantity{}, false
	}
	v, ok := numberValue(jsonNumberText(m["value"]), "decimal")
	if !ok {
		return Quantity{}, false
	}
	d := v.(Decimal)
	unit, _ := m["unit"].(string)
	if code, ok := m["code"].(string); ok && (m["system"] == "http://unitsofmeasure.org" || unit == "") {
		unit = code
	}
	if unit == "" {
		unit = "1"
	}
	return Quantity{Value: d, Unit: unit}, true
}

// jsonNumberText returns the text of a decoded JSON number, whether it was
// decoded with UseNumber or as a float64; "" for anything else.
func jsonNumberText(v any) string {
	switch x := v.(type) {
	case json.Number:
		return string(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}
