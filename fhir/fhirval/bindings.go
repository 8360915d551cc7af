package fhirval

import "github.com/hl7gw/gateway/validation"

// binding checks a value of an element with a required binding to the
// value set vs. Value sets the core package cannot enumerate (external
// terminologies; r4spec.Spec.UncheckedValueSet) are never checked, and
// neither are Codings without a system or code.
//
//   - a code (or other string primitive) must be one of the set's codes;
//   - a Coding with a system and a code must be in the set;
//   - a CodeableConcept with such Codings needs one of them in the set
//     (the Java validator's reading; one foreign Coding beside a bound one
//     is fine).
func (d *defs) binding(v any, typ, vs string, loc where) {
	switch typ {
	case "Coding":
		if in, known := d.coding(v, vs); known && !in {
			d.add(validation.CodeTableValue, loc.String(), "code not in the required value set "+vs)
		}
	case "CodeableConcept":
		obj, _ := v.(map[string]any)
		codings, _ := obj["coding"].([]any)
		decided := false
		for _, c := range codings {
			in, known := d.coding(c, vs)
			if in {
				return
			}
			decided = decided || known
		}
		if decided {
			d.add(validation.CodeTableValue, loc.String(), "no coding in the required value set "+vs)
		}
	default:
		s, ok := v.(string)
		if !ok {
			return
		}
		if in, known := d.spec.ValueSetContains(vs, "", s); known && !in {
			d.add(validation.CodeTableValue, loc.String(), "code not in the required value set "+vs)
		}
	}
}

// coding decides a Coding against vs; known is false when it cannot be
// decided (no system or code, or the set is not enumerable).
func (d *defs) coding(v any, vs string) (in, known bool) {
	obj, _ := v.(map[string]any)
	system, _ := obj["system"].(string)
	code, _ := obj["code"].(string)
	if system == "" || code == "" {
		return false, false
	}
	return d.spec.ValueSetContains(vs, system, code)
}
