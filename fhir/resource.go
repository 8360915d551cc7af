package fhir

import (
	"encoding/json"

	"github.com/hl7gw/gateway/fhir/fhirval"
	"github.com/hl7gw/gateway/validation"
)

// Action is what the request does to the resource.
type Action string

const (
	ActionCreate Action = "create" // POST
	ActionUpdate Action = "update" // PUT
	ActionDelete Action = "delete" // DELETE
)

// VersionID is the version id a request makes: its record's event id, for
// creates, updates and deletes alike. The gateway keeps no store, so it
// cannot count versions; an event id is a valid FHIR id
// ([A-Za-z0-9-.]{1,64}), new with every request, and names the record that
// carries the version.
func VersionID(eventID string) string { return eventID }

// ValidID reports whether id follows FHIR's id rule [A-Za-z0-9\-\.]{1,64}.
func ValidID(id string) bool { return fhirval.ValidID(id) }

// CheckResourceType compares the resourceType of doc with want; loc is the
// FHIRPath of the resource ("Resource", "Bundle.entry[2].resource") that a
// refusal names.
func CheckResourceType(doc *fhirval.Doc, want, loc string) error {
	switch {
	case doc.Member("resourceType") == nil:
		return validation.Errorf(validation.CodeRequiredMissing, loc+".resourceType", "resourceType missing")
	case doc.ResourceType != want:
		return validation.Errorf(validation.CodeDataType, loc+".resourceType", "resourceType differs from the URL")
	}
	return nil
}

// PatientRef returns the top-level subject.reference or patient.reference.
func PatientRef(doc *fhirval.Doc) string {
	for _, name := range [...]string{"subject", "patient"} {
		raw := doc.Member(name)
		if len(raw) == 0 || raw[0] != '{' {
			continue
		}
		var ref struct {
			Reference string `json:"reference"`
		}
		if json.Unmarshal(raw, &ref) == nil && ref.Reference != "" {
			return ref.Reference
		}
	}
	return ""
}
