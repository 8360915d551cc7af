package fhirval

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hl7gw/gateway/validation"
)

// rules are R4 checks beyond google/fhir's that the HL7 reference validator
// makes without a terminology server, run on a generic decode of the body
// (encoding/json into any; the scanner has already bounded its depth):
//
//   - every resource id (root, contained, Bundle entries) follows
//     [A-Za-z0-9\-\.]{1,64};
//   - the Bundle rules of bundle.go;
//   - Attachment.size equals the length of the decoded Attachment.data;
//   - per-1: Period.start is not after Period.end;
//   - que-12: a Questionnaire item with several enableWhen has
//     enableBehavior;
//   - SearchParameter.expression starts only from the types in base.
type rules struct {
	out validation.Findings
}

func runRules(body []byte, root string) validation.Findings {
	v, ok := decodeGeneric(body)
	if !ok {
		return nil // the scanner reports syntax problems
	}
	return runRulesOn(v, root)
}

// runRulesOn is runRules on a body decodeGeneric has read.
func runRulesOn(v any, root string) validation.Findings {
	r := &rules{}
	r.walk(v, root, "")
	return r.out
}

func (r *rules) add(code validation.Code, loc, msg string) {
	if len(r.out) < maxFindings {
		r.out = append(r.out, validation.Finding{Severity: validation.SeverityError, Code: code, Location: loc, Message: msg})
	}
}

// walk visits v at path loc; parent is the member name holding it.
func (r *rules) walk(v any, loc, parent string) {
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			switch e.(type) {
			case map[string]any, []any:
				r.walk(e, loc+"["+strconv.Itoa(i)+"]", parent)
			}
		}
	case map[string]any:
		if rt, ok := t["resourceType"].(string); ok {
			r.resource(t, rt, loc)
		}
		r.datatype(t, loc, parent)
		for k, e := range t {
			switch e.(type) {
			case map[string]any, []any: // primitives have no rules: no location to build
				r.walk(e, loc+"."+safeName(k), k)
			}
		}
	}
}

var idRule = regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`)

// resource checks rules that hang off a resource object.
func (r *rules) resource(o map[string]any, rt, loc string) {
	if id, ok := o["id"].(string); ok && !idRule.MatchString(id) {
		r.add(validation.CodeDataType, loc+".id", "resource id does not match [A-Za-z0-9-.]{1,64}")
	}
	switch rt {
	case "Bundle":
		r.bundle(o, loc)
	case "SearchParameter":
		r.searchParameter(o, loc)
	}
}

// obj is v as an object, or nil (reads from a nil map are safe).
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// searchParameter: each "|"-separated term of expression that starts with
// a type name must start with one of base (or Resource/DomainResource).
func (r *rules) searchParameter(o map[string]any, loc string) {
	expr, _ := o["expression"].(string)
	bases, _ := o["base"].([]any)
	if expr == "" || len(bases) == 0 {
		return
	}
	allowed := map[string]bool{"Resource": true, "DomainResource": true}
	for _, b := range bases {
		if s, ok := b.(string); ok {
			allowed[s] = true
		}
	}
	for _, term := range strings.Split(expr, "|") {
		term = strings.TrimSpace(term)
		head := term
		if i := strings.IndexAny(term, ".( "); i >= 0 {
			head = term[:i]
		}
		if KnownResourceType(head) && !allowed[head] {
			r.add(validation.CodeDataType, loc+".expression", "expression starts from a type not listed in base")
			return
		}
	}
}

// datatype checks rules that hang off a data type recognised by shape.
func (r *rules) datatype(o map[string]any, loc, parent string) {
	if data, ok := o["data"].(string); ok {
		if size, ok := o["size"].(json.Number); ok {
			n, err := size.Int64()
			raw, derr := base64.StdEncoding.DecodeString(data)
			if err == nil && derr == nil && int64(len(raw)) != n {
				r.add(validation.CodeDataType, loc, "attachment size differs from the size of its data")
			}
		}
	}
	if isPeriod(o) {
		r.period(o, loc)
	}
	if parent == "item" {
		if ew, ok := o["enableWhen"].([]any); ok && len(ew) > 1 {
			if _, has := o["enableBehavior"]; !has {
				r.add(validation.CodeRequiredMissing, loc, "que-12: several enableWhen need enableBehavior")
			}
		}
	}
}

// isPeriod: an object with start and end and nothing else but id and
// extension (Period's elements).
func isPeriod(o map[string]any) bool {
	_, s := o["start"].(string)
	_, e := o["end"].(string)
	if !s || !e {
		return false
	}
	for k := range o {
		switch k {
		case "start", "end", "id", "extension", "_start", "_end":
		default:
			return false
		}
	}
	return true
}

// period checks per-1. Each end is read as the interval its precision
// covers; start is an error when it certainly lies after end, or when the
// precisions differ and start's interval reaches past end's beginning (the
// reference validator's reading of an ambiguous comparison).
func (r *rules) period(o map[string]any, loc string) {
	s0, s1, sp, ok1 := interval(o["start"].(string))
	e0, _, ep, ok2 := interval(o["end"].(string))
	if !ok1 || !ok2 {
		return
	}
	bad := s1.After(e0) // different precisions: the intervals overlap
	if sp == ep {
		bad = s0.After(e0)
	}
	if bad {
		r.add(validation.CodeDataType, loc, "per-1: period start is after its end")
	}
}

var dateLayouts = []struct {
	layout string
	span   func(time.Time) time.Time
}{
	{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
	{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
	{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	// Fractional seconds are accepted after the seconds field when parsing.
	{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
}

// interval parses a FHIR date/dateTime into [from, to) and its precision.
func interval(s string) (from, to time.Time, precision int, ok bool) {
	for i, l := range dateLayouts {
		if t, err := time.Parse(l.layout, s); err == nil {
			return t, l.span(t), i, true
		}
	}
	return time.Time{}, time.Time{}, 0, false
}
