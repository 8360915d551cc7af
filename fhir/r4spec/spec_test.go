package r4spec

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/fhir/fhirpath"
)

func TestElementsCarryTheirDefinitions(t *testing.T) {
	s := R4()
	tests := []struct {
		name, path      string
		min, max        int
		types           []string
		choice          bool
		ref, vs, consts string
	}{
		{name: "a backbone element has its cardinality and invariant", path: "Patient.contact", max: -1, types: []string{"BackboneElement"}, consts: "pat-1"},
		{name: "a required code names its value set", path: "Patient.gender", max: 1, types: []string{"code"}, vs: "http://hl7.org/fhir/ValueSet/administrative-gender"},
		{name: "a mandatory nested element has min 1", path: "Patient.link.other", min: 1, max: 1, types: []string{"Reference"}},
		{name: "a choice element lists its types", path: "Patient.deceased[x]", max: 1, types: []string{"boolean", "dateTime"}, choice: true},
		{name: "a content reference points at its definition", path: "Bundle.entry.link", max: -1, ref: "Bundle.link"},
		{name: "a type's root carries the type's invariants", path: "Period", max: -1, consts: "per-1"},
		{name: "a core constraint profile is a type of its own", path: "SimpleQuantity", consts: "sqty-1"},
		{name: "a Range's bounds are SimpleQuantity", path: "Range.low", max: 1, types: []string{"SimpleQuantity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := s.Element(tt.path)
			if e == nil {
				t.Fatalf("no element %s", tt.path)
			}
			var keys []string
			for _, c := range e.Constraints {
				keys = append(keys, c.Key)
			}
			if tt.path != "SimpleQuantity" && (e.Min != tt.min || e.Max != tt.max) {
				t.Errorf("cardinality %d..%d, want %d..%d", e.Min, e.Max, tt.min, tt.max)
			}
			if !reflect.DeepEqual(e.Types, tt.types) || e.Choice != tt.choice || e.ContentRef != tt.ref || e.ValueSet != tt.vs {
				t.Errorf("got types %v choice %v ref %q vs %q", e.Types, e.Choice, e.ContentRef, e.ValueSet)
			}
			if strings.Join(keys, " ") != tt.consts {
				t.Errorf("constraints %v, want %q", keys, tt.consts)
			}
		})
	}
}

func TestTheModelTypesElementsThroughBases(t *testing.T) {
	s := R4()
	tests := []struct {
		name, parent, elem, want string
		choice                   bool
	}{
		{"a resource element inherited from Resource", "Patient", "meta", "Meta", false},
		{"a DomainResource element", "Observation", "text", "Narrative", false},
		{"a backbone element is typed by its path", "Patient", "contact", "Patient.contact", false},
		{"an element of a backbone element", "Patient.contact", "name", "HumanName", false},
		{"id of a backbone element comes from Element", "Patient.contact", "id", "string", false},
		{"a choice element", "Observation", "value", "*", true},
		{"a content reference", "Bundle.entry", "link", "Bundle.link", false},
		{"a data type's element", "Quantity", "comparator", "code", false},
		{"an element of a derived data type", "Age", "value", "decimal", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, choice, ok := s.ElementType(tt.parent, tt.elem)
			if !ok || typ != tt.want || choice != tt.choice {
				t.Errorf("ElementType(%s, %s) = %q %v %v", tt.parent, tt.elem, typ, choice, ok)
			}
		})
	}
	if _, _, ok := s.ElementType("Patient", "colour"); ok {
		t.Error("Patient.colour is known")
	}
	if s.BaseType("code") != "string" || s.BaseType("Patient") != "DomainResource" || s.BaseType("Patient.contact") != "BackboneElement" {
		t.Error("base types wrong")
	}
}

func TestRequiredValueSets(t *testing.T) {
	s := R4()
	const gender = "http://hl7.org/fhir/ValueSet/administrative-gender"
	if in, known := s.ValueSetContains(gender, "", "female"); !in || !known {
		t.Error("female not in administrative-gender")
	}
	if in, known := s.ValueSetContains(gender, "", "robot"); in || !known {
		t.Error("robot in administrative-gender")
	}
	if in, _ := s.ValueSetContains(gender, "http://example.org", "female"); in {
		t.Error("female of another system accepted")
	}
	if _, known := s.ValueSetContains("http://hl7.org/fhir/ValueSet/ucum-units", "http://unitsofmeasure.org", "mg"); known {
		t.Error("UCUM is claimed enumerable")
	}
	if why := s.UncheckedValueSet("http://hl7.org/fhir/ValueSet/mimetypes"); !strings.Contains(why, "external") {
		t.Errorf("mimetypes reason %q", why)
	}
}

// contextType is the FHIRPath type an invariant's context path has.
func contextType(s *Spec, path string) string {
	if s.Type(path) != nil {
		return path
	}
	if e := s.Element(path); e != nil && !e.Choice && len(e.Types) <= 1 {
		return e.ElementTypeName()
	}
	return ""
}

// TestEveryInvariantCompiles checks each error-severity invariant against
// the model for its context type: a misspelt element or a function the
// engine lacks fails here rather than silently yielding nothing.
func TestEveryInvariantCompiles(t *testing.T) {
	s := R4()
	var failed []string
	n := 0
	for _, r := range constraintRows {
		f := strings.Split(r, "\t")
		n++
		var err error
		if ct := contextType(s, f[1]); ct != "" {
			_, err = fhirpath.CompileFor(f[2], ct, s)
		} else {
			_, err = fhirpath.Compile(f[2])
		}
		if err != nil {
			failed = append(failed, f[1]+" "+f[0]+": "+err.Error())
		}
	}
	sort.Strings(failed)
	t.Logf("%d invariants, %d refused", n, len(failed))
	for _, f := range failed {
		t.Error(f)
	}
	if n < 200 {
		t.Errorf("only %d invariants generated", n)
	}
}

func TestCoreExtensionsAndProfiles(t *testing.T) {
	s := R4()
	x := s.Extension("http://hl7.org/fhir/StructureDefinition/patient-birthTime")
	if x == nil || x.Modifier || !reflect.DeepEqual(x.Contexts, []string{"Patient.birthDate"}) || !reflect.DeepEqual(x.ValueTypes, []string{"dateTime"}) {
		t.Errorf("patient-birthTime = %+v", x)
	}
	if x := s.Extension("http://hl7.org/fhir/StructureDefinition/request-doNotPerform"); x == nil || !x.Modifier {
		t.Errorf("request-doNotPerform = %+v, want a modifier extension", x)
	}
	if x := s.Extension("http://hl7.org/fhir/StructureDefinition/patient-nationality"); x == nil || len(x.ValueTypes) != 0 {
		t.Errorf("patient-nationality = %+v, want a complex extension (no value types)", x)
	}
	if s.Extension("http://example.org/StructureDefinition/x") != nil {
		t.Error("an unknown extension was found")
	}
	if typ, ok := s.Profile("http://hl7.org/fhir/StructureDefinition/vitalsigns"); !ok || typ != "Observation" {
		t.Errorf("vitalsigns: %q %v, want Observation", typ, ok)
	}
	if _, ok := s.Profile("http://hl7.org/fhir/StructureDefinition/Patient"); ok {
		t.Error("the Patient resource definition is listed as a profile")
	}
}
