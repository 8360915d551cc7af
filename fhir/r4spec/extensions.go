package r4spec

import "strings"

// Extension is one of the core's extension definitions
// (extension-definitions.xml).
type Extension struct {
	URL string
	// Modifier: the extension must appear in modifierExtension, and
	// only there.
	Modifier bool
	// Contexts are the element contexts it may be used in: a type
	// ("Element", "HumanName", "Patient") or an element path
	// ("Patient.birthDate", "Questionnaire.item"), as published, with
	// the HL7 Java validator's corrections (see internal/gen).
	Contexts []string
	// ValueTypes are the types its value[x] allows; none for a complex
	// extension, which carries sub-extensions instead.
	ValueTypes []string
}

// Extension returns the core extension definition with this URL, or nil.
func (s *Spec) Extension(url string) *Extension { return s.extensions[url] }

// Profile reports whether url is one of the core's constraint profiles
// (vitalsigns, bp, SimpleQuantity, ...) and the type it constrains.
func (s *Spec) Profile(url string) (typ string, ok bool) {
	typ, ok = s.profiles[url]
	return typ, ok
}

func (s *Spec) parseExtensions() {
	s.extensions = make(map[string]*Extension, len(extensionRows))
	for _, r := range extensionRows {
		f := strings.Split(r, "\t")
		x := &Extension{URL: f[0], Modifier: f[1] == "1", Contexts: strings.Fields(f[2])}
		if f[3] != "-" {
			x.ValueTypes = strings.Fields(f[3])
		}
		s.extensions[x.URL] = x
	}
	s.profiles = make(map[string]string, len(profileRows))
	for _, r := range profileRows {
		url, typ, _ := strings.Cut(r, "\t")
		s.profiles[url] = typ
	}
}
