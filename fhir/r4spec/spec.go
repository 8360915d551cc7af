package r4spec

import (
	"strconv"
	"strings"
	"sync"
)

// Type is a StructureDefinition of the core: a primitive ("string"), a
// complex type ("HumanName"), a resource ("Patient"), or one of the core's
// constraint profiles used as element types (SimpleQuantity).
type Type struct {
	Name     string
	Kind     string // primitive-type, complex-type, resource
	Base     string // "" for Base/Element roots
	Abstract bool
}

// Element is one element definition. Path is its FHIRPath-like path in the
// type that defines it ("Patient.contact.name", "Observation.value[x]").
type Element struct {
	Path       string
	Name       string // last path segment without "[x]"
	Min        int
	Max        int // -1 for "*"
	Types      []string
	Choice     bool   // a [x] element: the JSON key carries the type
	ContentRef string // "Bundle.link" for elements defined elsewhere
	ValueSet   string // the required binding's value set URL, or ""
	// Constraints are the element's own error-severity invariants; those
	// of its type (per-1 on every Period) come with the type's root.
	Constraints []*Constraint
}

// Constraint is an error-severity invariant.
type Constraint struct {
	Key        string // "pat-1"; keys are unique within a type only
	Context    string // the element path it is defined on
	Expression string // FHIRPath
	Human      string
}

// Spec holds the parsed tables.
type Spec struct {
	types     map[string]*Type
	elements  map[string]*Element   // by path
	children  map[string][]*Element // direct children of a type or backbone path
	valueSets map[string]map[string]map[string]bool
	unchecked map[string]string

	members map[string]map[string]*Element // see Members

	extensions map[string]*Extension
	profiles   map[string]string // core constraint profile URL -> type
}

var (
	once sync.Once
	r4   *Spec
)

// R4 returns the core specification, parsing the generated tables on the
// first call (a few milliseconds).
func R4() *Spec {
	once.Do(func() { r4 = parse() })
	return r4
}

func parse() *Spec {
	s := &Spec{
		types: map[string]*Type{}, elements: map[string]*Element{}, children: map[string][]*Element{},
		valueSets: map[string]map[string]map[string]bool{}, unchecked: map[string]string{},
	}
	for _, r := range typeRows {
		f := strings.Split(r, "\t")
		s.types[f[0]] = &Type{Name: f[0], Kind: f[1], Base: f[2], Abstract: f[3] == "1"}
	}
	constraints := map[string]*Constraint{}
	for _, r := range constraintRows {
		f := strings.Split(r, "\t")
		constraints[f[1]+"\t"+f[0]] = &Constraint{Key: f[0], Context: f[1], Expression: f[2], Human: f[3]}
	}
	for _, r := range elementRows {
		e := parseElement(strings.Split(r, "\t"), constraints)
		s.elements[e.Path] = e
		if i := strings.LastIndexByte(e.Path, '.'); i >= 0 {
			s.children[e.Path[:i]] = append(s.children[e.Path[:i]], e)
		}
	}
	for _, r := range valueSetRows {
		f := strings.Split(r, "\t")
		if s.valueSets[f[0]] == nil {
			s.valueSets[f[0]] = map[string]map[string]bool{}
		}
		codes := make(map[string]bool, len(f)-2)
		for _, c := range f[2:] {
			codes[c] = true
		}
		s.valueSets[f[0]][f[1]] = codes
	}
	for _, r := range uncheckedValueSetRows {
		url, why, _ := strings.Cut(r, "\t")
		s.unchecked[url] = why
	}
	s.buildMembers()
	s.parseExtensions()
	return s
}

func parseElement(f []string, constraints map[string]*Constraint) *Element {
	e := &Element{Path: f[0], ContentRef: f[4], ValueSet: f[5]}
	e.Name = e.Path[strings.LastIndexByte(e.Path, '.')+1:]
	e.Name, e.Choice = strings.CutSuffix(e.Name, "[x]")
	e.Min, _ = strconv.Atoi(f[1])
	e.Max = -1
	if f[2] != "*" && f[2] != "" {
		e.Max, _ = strconv.Atoi(f[2])
	}
	if f[3] != "" {
		e.Types = strings.Split(f[3], " ")
	}
	if f[6] != "" {
		for _, k := range strings.Split(f[6], " ") {
			if c := constraints[e.Path+"\t"+k]; c != nil {
				e.Constraints = append(e.Constraints, c)
			}
		}
	}
	return e
}

// Type returns the named type, or nil.
func (s *Spec) Type(name string) *Type { return s.types[name] }

// Types calls f for every type, in no particular order.
func (s *Spec) Types(f func(*Type)) {
	for _, t := range s.types {
		f(t)
	}
}

// Element returns the element definition at path ("Patient.contact", or a
// type's root "Patient"), or nil.
func (s *Spec) Element(path string) *Element { return s.elements[path] }

// Children returns the own elements directly below a type or backbone
// path ("Patient", "Patient.contact"), without those of its base types.
func (s *Spec) Children(path string) []*Element { return s.children[path] }

// Child finds element name (without "[x]") of parentType, searching its
// base types; parentType is a type name or a backbone element's path. A
// backbone or content-referenced element's own type is its path.
func (s *Spec) Child(parentType, name string) *Element {
	return s.members[parentType][name]
}

// Members returns every element of a type or backbone path by name
// (without "[x]"), its base types' included. The map is shared: do not
// modify it.
func (s *Spec) Members(parentType string) map[string]*Element { return s.members[parentType] }

// buildMembers fills s.members for every type and backbone path, nearer
// definitions shadowing their bases'.
func (s *Spec) buildMembers() {
	s.members = map[string]map[string]*Element{}
	owners := make([]string, 0, len(s.types)+len(s.children))
	for t := range s.types {
		owners = append(owners, t)
	}
	for p := range s.children {
		if s.types[p] == nil {
			owners = append(owners, p)
		}
	}
	for _, o := range owners {
		m := map[string]*Element{}
		for t := o; t != ""; t = s.BaseType(t) {
			for _, e := range s.children[t] {
				if _, shadowed := m[e.Name]; !shadowed {
					m[e.Name] = e
				}
			}
		}
		s.members[o] = m
	}
}

// ElementTypeName is the type of a single-typed element as FHIRPath sees
// it: the path of a backbone element, the target of a content reference,
// or the type code.
func (e *Element) ElementTypeName() string {
	switch {
	case e.ContentRef != "":
		return e.ContentRef
	case len(e.Types) == 1 && (e.Types[0] == "BackboneElement" || e.Types[0] == "Element") && strings.Contains(e.Path, "."):
		return e.Path
	case len(e.Types) >= 1:
		return e.Types[0]
	}
	return ""
}
