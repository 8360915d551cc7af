package fhirval

import (
	"strconv"
	"strings"

	"github.com/hl7gw/gateway/validation"
)

// metaProfiles checks the profiles a resource of type rt claims in
// meta.profile, as the HL7 Java validator does when it is not allowed to
// fetch what it does not know (the default of HAPI's and of an offline
// validator):
//
//   - the core definition of the resource's own type, or of a type it
//     specialises (DomainResource, Resource), is what every resource is
//     checked against anyway: nothing to say;
//   - a core definition or core profile of another type ("Observation" or
//     "vitalsigns" on a Patient) is an error, as the Java validator's
//     VALIDATION_VAL_PROFILE_WRONGTYPE;
//   - a core profile of this type (vitalsigns on an Observation) is a
//     warning: profiles beyond the core definitions are not checked;
//   - any other URL is a warning that the profile is unknown and was not
//     checked (the Java validator's VALIDATION_VAL_PROFILE_UNKNOWN_NOT_POLICY;
//     HAPI can be told to make it an error, the gateway follows the Java
//     validator's default).
//
// Messages name core types only, never the URL the resource holds.
func (d *defs) metaProfiles(obj map[string]any, rt, loc string) {
	meta, _ := obj["meta"].(map[string]any)
	profiles, _ := meta["profile"].([]any)
	for i, p := range profiles {
		url, _ := p.(string)
		if url == "" {
			continue
		}
		url, _, _ = strings.Cut(url, "|")
		ploc := loc + ".meta.profile[" + strconv.Itoa(i) + "]"
		typ, profile := d.spec.Profile(url)
		if !profile {
			if name, ok := strings.CutPrefix(url, "http://hl7.org/fhir/StructureDefinition/"); ok && d.spec.Type(name) != nil {
				typ = name
			}
		}
		switch {
		case typ == "":
			d.warn(validation.CodeUnknownKey, ploc, "meta.profile names a profile the gateway does not know: not checked")
		case !d.specialises(rt, typ):
			d.add(validation.CodeDataType, ploc, "meta.profile names a definition of type "+typ+", not "+rt)
		case profile:
			d.warn(validation.CodeUnknownKey, ploc, "meta.profile names a core profile of "+typ+": profiles beyond the core definitions are not checked")
		}
	}
}

// specialises reports whether type t is base or derives from it.
func (d *defs) specialises(t, base string) bool {
	for ; t != ""; t = d.spec.BaseType(t) {
		if t == base {
			return true
		}
	}
	return false
}

func (d *defs) warn(code validation.Code, loc, msg string) {
	if len(d.out) < maxFindings {
		d.out = append(d.out, validation.Finding{Severity: validation.SeverityWarning, Code: code, Location: loc, Message: msg})
	}
}
