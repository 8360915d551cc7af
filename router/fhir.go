package router

import (
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/fhir/fhirval"
	"github.com/hl7gw/gateway/validation"
)

// ContentTypeFHIR is the content-type header value of FHIR records.
const ContentTypeFHIR = "application/fhir+json"

// FHIRVersion is the fhir.version header value: only R4 is served.
const FHIRVersion = "R4"

// FHIRMeta is what routing needs from one FHIR resource (or one
// transaction entry). The FHIR step extracts it; the router never parses.
type FHIRMeta struct {
	ResourceType string // "Patient"
	ID           string // the resource's logical id (assigned by the gateway on create when absent)
	// Action is "create", "update" or "delete" (POST, PUT, DELETE).
	Action string
	// PatientRef is the resource's subject or patient reference exactly
	// as written ("Patient/123", "https://x/fhir/Patient/123/_history/2",
	// "urn:uuid:..."), "" when it has none.
	PatientRef string
	// EventID is the CloudEvents id (unique per event); "" falls back to
	// "<type>/<id>".
	EventID string
	// VersionID is the resource version the record makes (fhir.version_id;
	// omitted when ""). FullURL is the Bundle entry's fullUrl as received
	// (fhir.full_url; omitted when "").
	VersionID, FullURL string
}

// fhirTopicSuffix maps an action to the topic's last part.
var fhirTopicSuffix = map[string]string{"create": "created", "update": "updated", "delete": "deleted"}

// FHIRTopic is fhir.<resourcetype>.<created|updated|deleted> lower-cased,
// after prefix. It fails with a ROUTE-stage error for an unknown action or
// a resource type that cannot be part of a topic name.
func FHIRTopic(prefix string, m FHIRMeta) (string, error) {
	suffix, ok := fhirTopicSuffix[m.Action]
	if !ok {
		return "", validation.Errorf(validation.CodeUnsupportedEvent, m.ResourceType, "unsupported FHIR action")
	}
	if m.ResourceType == "" {
		return "", validation.Errorf(validation.CodeRequiredMissing, "Resource.resourceType", "resource type missing")
	}
	return Topic(prefix, m.ResourceType+".resourceType", "fhir", m.ResourceType, suffix)
}

// FHIRKey is the partition key, always in the canonical form "<Type>/<id>"
// so that one patient's events share a key whatever resource carries them:
//
//   - a Patient resource: "Patient/<id>";
//   - else a literal subject/patient reference, relative or absolute, with
//     any base URL and _history suffix removed: "Patient/123" (a Group or
//     other subject keeps its own type: "Group/7");
//   - else the resource itself: "<Type>/<id>".
//
// References that are not literal "Type/id" references (urn:uuid:, "#x"
// contained references, logical identifiers) fall through to the resource
// itself; callers that can resolve urn:uuid references inside a
// transaction pass the resolved "Patient/<id>" as PatientRef.
func FHIRKey(m FHIRMeta) string {
	if m.ResourceType == "Patient" && m.ID != "" {
		return "Patient/" + m.ID
	}
	if k, ok := ReferenceKey(m.PatientRef); ok {
		return k
	}
	if m.ID == "" {
		return m.ResourceType
	}
	return m.ResourceType + "/" + m.ID
}

// ReferenceKey reduces a literal FHIR reference to "Type/id": it accepts
// "Type/id", "Type/id/_history/v" and the same after an absolute base URL
// ("https://host/fhir/Type/id"). It reports false for anything else.
func ReferenceKey(ref string) (string, bool) {
	if ref == "" || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") {
		return "", false
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.IndexAny(ref, "?#"); i >= 0 {
		return "", false
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return "", false
	}
	typ, id := parts[len(parts)-2], parts[len(parts)-1]
	if !resourceTypeShape(typ) || !fhirval.ValidID(id) {
		return "", false
	}
	if len(parts) > 2 && !strings.Contains(ref, "://") {
		return "", false // a relative reference has exactly Type/id
	}
	return typ + "/" + id, true
}

// resourceTypeShape: an upper-case ASCII letter followed by letters.
func resourceTypeShape(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' || len(s) > 64 {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// FHIRRecord builds the record for one FHIR resource or transaction entry.
// body is the value, byte for byte (empty for a delete); source names the
// connector (ce_source); now is the receipt time (ce_time); warnings go to
// the fhir.warnings header. Headers: the CloudEvents binding, content-type,
// fhir.resource_type, fhir.id, fhir.action, fhir.version (the FHIR release,
// "R4"), fhir.version_id and fhir.full_url when known, fhir.warnings. It
// fails only when no topic name can be made.
func FHIRRecord(body []byte, prefix, source string, m FHIRMeta, warnings validation.Findings, now time.Time) (*kgo.Record, error) {
	topic, err := FHIRTopic(prefix, m)
	if err != nil {
		return nil, err
	}
	ceType, _ := FHIRTopic("", m)
	ceID := m.EventID
	if ceID == "" {
		ceID = m.ResourceType + "/" + m.ID
	}
	h := make([]kgo.RecordHeader, 0, 14)
	h = appendHeader(h, "ce_specversion", "1.0")
	h = appendHeader(h, "ce_id", ceID)
	h = appendHeader(h, "ce_source", "/gateway/"+source)
	h = appendHeader(h, "ce_type", ceType)
	h = appendHeader(h, "ce_time", now.UTC().Format(time.RFC3339Nano))
	h = appendHeader(h, "content-type", ContentTypeFHIR)
	h = appendHeader(h, "fhir.resource_type", m.ResourceType)
	h = appendHeader(h, "fhir.id", m.ID)
	h = appendHeader(h, "fhir.action", m.Action)
	h = appendHeader(h, "fhir.version", FHIRVersion)
	if m.VersionID != "" {
		h = appendHeader(h, "fhir.version_id", m.VersionID)
	}
	if m.FullURL != "" {
		h = appendHeader(h, "fhir.full_url", m.FullURL)
	}
	if len(warnings) > 0 {
		h = appendHeader(h, "fhir.warnings", WarningsHeader(warnings))
	}
	return &kgo.Record{Topic: topic, Key: []byte(FHIRKey(m)), Value: body, Headers: h}, nil
}
