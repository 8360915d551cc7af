package r4spec

import "strings"

// ElementType implements fhirpath.Model.
func (s *Spec) ElementType(parentType, name string) (typ string, choice, ok bool) {
	e := s.Child(parentType, name)
	if e == nil {
		return "", false, false
	}
	if e.Choice {
		return "*", true, true
	}
	return e.ElementTypeName(), false, true
}

// BaseType implements fhirpath.Model: a type's base definition, and for a
// backbone element path its declared type (BackboneElement or Element).
func (s *Spec) BaseType(typ string) string {
	if t := s.types[typ]; t != nil {
		return t.Base
	}
	if e := s.elements[typ]; e != nil && strings.Contains(typ, ".") && len(e.Types) == 1 {
		return e.Types[0]
	}
	return ""
}

// Complete implements fhirpath.Model: every core type and backbone element
// is listed in full.
func (s *Spec) Complete(typ string) bool {
	return s.types[typ] != nil || s.elements[typ] != nil && strings.Contains(typ, ".")
}

// ValueSetContains reports whether code (of system, "" when the element is
// a plain code) is in the required value set url. known is false when the
// value set's codes are not enumerable from the core package (see
// UncheckedValueSet) or it is not a core value set at all; nothing can be
// said about the code then.
func (s *Spec) ValueSetContains(url, system, code string) (in, known bool) {
	vs, ok := s.valueSets[url]
	if !ok {
		return false, false
	}
	if system != "" {
		return vs[system][code], true
	}
	for _, codes := range vs {
		if codes[code] {
			return true, true
		}
	}
	return false, true
}

// ValueSetHasSystem reports whether the enumerable value set url draws codes
// from system.
func (s *Spec) ValueSetHasSystem(url, system string) bool {
	_, ok := s.valueSets[url][system]
	return ok
}

// UncheckedValueSet returns why a required value set is not checked ("code
// system http://unitsofmeasure.org is not in the core package (external
// terminology)"), or "" when it is enumerable or not bound as required.
func (s *Spec) UncheckedValueSet(url string) string { return s.unchecked[url] }
