package fhir

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	samply "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/hl7gw/gateway/fhir/fhirval"
	"github.com/hl7gw/gateway/validation"
)

// Entry is one entry of a transaction or batch Bundle, as routed.
type Entry struct {
	Action       Action
	ResourceType string
	// ID is the URL id for update/delete; for create the resource's id, or
	// (transactions only) a gateway-assigned UUID v4 when it has none.
	ID      string
	FullURL string
	// Body is the entry's resource JSON exactly as received; nil for a
	// delete.
	Body []byte
	// Index is the entry's position in Bundle.entry.
	Index int
	// EventID is the CloudEvents id (ce_id) of the entry's record,
	// assigned by Parse for transactions ("" in SplitBatch's entries: each
	// is parsed again on its own).
	EventID string
	// Stored and LastUpdated are set by Route for a transaction's creates
	// and updates (see Message.Stored).
	Stored      []byte
	LastUpdated time.Time
	// Condition names the conditional or versioned element of the entry's
	// request, which the gateway cannot honour (see Conditions); "" when
	// there is none. Such an entry is not parsed further.
	Condition Condition

	// PatientRef is the resource's subject or patient reference, with a
	// transaction's urn:uuid references resolved to Type/id.
	PatientRef string
}

// SplitBatch reads a batch Bundle and returns its entries for the door to
// submit one by one (Request{Action, ResourceType, ID} and Body). It fails
// with a *validation.Error (FHIRPath locations such as
// "Bundle.entry[2].request.method") when the body is not a batch Bundle or
// an entry cannot be turned into a request; the content of each resource
// is left to the pipeline. It does not block.
func SplitBatch(raw []byte) ([]Entry, error) {
	_, entries, err := splitBundle(raw, samply.BundleTypeBatch, nil)
	return entries, err
}

// ParseTransaction reads a transaction Bundle (POST /fhir) whose entries
// become one record each: it checks every entry as SplitBatch does,
// refuses an entry with a conditional or versioned request (code 201 at the
// request element: the gateway cannot honour it), resolves urn:uuid
// patient references between entries, and gives each entry an event id
// from newID, after any resource id newID assigns. doc is the scan of raw.
// It does not block.
func ParseTransaction(raw []byte, newID func() string) (doc *fhirval.Doc, entries []Entry, err error) {
	doc, entries, err = splitBundle(raw, samply.BundleTypeTransaction, newID)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if e.Condition != "" {
			// Doors refuse these before submitting (Conditions); a
			// submitter that does not is told here.
			return nil, nil, validation.Errorf(validation.CodeUnsupportedEvent, "Bundle.entry["+strconv.Itoa(e.Index)+"].request."+e.Condition.Element(),
				"conditional requests are not supported")
		}
	}
	resolvePatientRefs(entries)
	for i := range entries {
		entries[i].EventID = newID()
	}
	return doc, entries, nil
}

// bundleEntry is the part of Bundle.entry routing reads. Method and the
// Bundle type are read with samply's typed codes (their UnmarshalJSON
// accepts exactly the R4 codes).
type bundleEntry struct {
	FullURL  *string         `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method          json.RawMessage `json:"method"`
		URL             *string         `json:"url"`
		IfNoneExist     *string         `json:"ifNoneExist"`
		IfMatch         *string         `json:"ifMatch"`
		IfNoneMatch     *string         `json:"ifNoneMatch"`
		IfModifiedSince *string         `json:"ifModifiedSince"`
	} `json:"request"`
}

// splitBundle reads a Bundle of type want and returns its scan and
// entries. newID, when set, assigns ids to creates without one.
func splitBundle(raw []byte, want samply.BundleType, newID func() string) (*fhirval.Doc, []Entry, error) {
	doc, syntax := fhirval.Scan(raw)
	if len(syntax) > 0 {
		return nil, nil, &validation.Error{Findings: syntax}
	}
	if err := CheckResourceType(doc, "Bundle", "Bundle"); err != nil {
		return nil, nil, err
	}
	var bt samply.BundleType
	switch t := doc.Member("type"); {
	case t == nil:
		return nil, nil, validation.Errorf(validation.CodeRequiredMissing, "Bundle.type", "Bundle.type missing")
	case json.Unmarshal(t, &bt) != nil:
		return nil, nil, validation.Errorf(validation.CodeTableValue, "Bundle.type", "unknown Bundle type")
	case bt != want:
		return nil, nil, validation.Errorf(validation.CodeDataType, "Bundle.type", "expected a %s Bundle", want.Code())
	}
	var raws []json.RawMessage
	if e := doc.Member("entry"); e == nil || json.Unmarshal(e, &raws) != nil || len(raws) == 0 {
		return nil, nil, validation.Errorf(validation.CodeRequiredMissing, "Bundle.entry", "Bundle has no entries")
	}
	entries := make([]Entry, 0, len(raws))
	for i, r := range raws {
		e, err := parseEntry(i, r, newID)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	return doc, entries, nil
}

// parseEntry turns one Bundle.entry into an Entry.
func parseEntry(i int, raw json.RawMessage, newID func() string) (Entry, error) {
	loc := "Bundle.entry[" + strconv.Itoa(i) + "]"
	var be bundleEntry
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &be) != nil {
		return Entry{}, validation.Errorf(validation.CodeDataType, loc, "entry is not a valid object")
	}
	if be.Request == nil || len(be.Request.Method) == 0 {
		return Entry{}, validation.Errorf(validation.CodeRequiredMissing, loc+".request.method", "entry request method missing")
	}
	var verb samply.HTTPVerb
	if json.Unmarshal(be.Request.Method, &verb) != nil {
		return Entry{}, validation.Errorf(validation.CodeTableValue, loc+".request.method", "unknown HTTP verb")
	}
	e := Entry{Index: i}
	switch verb {
	case samply.HTTPVerbPOST:
		e.Action = ActionCreate
	case samply.HTTPVerbPUT:
		e.Action = ActionUpdate
	case samply.HTTPVerbDELETE:
		e.Action = ActionDelete
	default:
		return Entry{}, validation.Errorf(validation.CodeUnsupportedEvent, loc+".request.method", "only POST, PUT and DELETE entries are ingested")
	}
	if be.FullURL != nil {
		e.FullURL = *be.FullURL
	}
	if be.Request.URL == nil || *be.Request.URL == "" {
		return Entry{}, validation.Errorf(validation.CodeRequiredMissing, loc+".request.url", "entry request url missing")
	}
	if e.Condition = entryCondition(be); e.Condition != "" {
		e.ResourceType, _, _ = strings.Cut(*be.Request.URL, "?")
		return e, nil
	}
	urlType, urlID, ok := splitEntryURL(*be.Request.URL)
	if !ok || (e.Action == ActionCreate) != (urlID == "") {
		return Entry{}, validation.Errorf(validation.CodeDataType, loc+".request.url",
			"entry url must be [type] for POST and [type]/[id] for PUT and DELETE")
	}
	if !fhirval.KnownResourceType(urlType) {
		return Entry{}, validation.Errorf(validation.CodeUnsupportedType, loc+".request.url", "unknown R4 resource type")
	}
	if urlID != "" && !ValidID(urlID) {
		return Entry{}, validation.Errorf(validation.CodeDataType, loc+".request.url", "id does not match [A-Za-z0-9-.]{1,64}")
	}
	e.ResourceType, e.ID = urlType, urlID
	if e.Action == ActionDelete {
		return e, nil
	}
	return e, entryResource(&e, loc+".resource", be.Resource, newID)
}

// entryResource checks a create/update entry's resource against its url.
func entryResource(e *Entry, loc string, res json.RawMessage, newID func() string) error {
	if len(res) == 0 || res[0] != '{' {
		return validation.Errorf(validation.CodeRequiredMissing, loc, "entry resource missing")
	}
	doc, _ := fhirval.Scan(res)
	if err := CheckResourceType(doc, e.ResourceType, loc); err != nil {
		return err
	}
	if doc.HasID && !ValidID(doc.ID) {
		return validation.Errorf(validation.CodeDataType, loc+".id", "id does not match [A-Za-z0-9-.]{1,64}")
	}
	switch {
	case e.Action == ActionUpdate && !doc.HasID:
		return validation.Errorf(validation.CodeRequiredMissing, loc+".id", "update entry resource has no id")
	case e.Action == ActionUpdate && doc.ID != e.ID:
		return validation.Errorf(validation.CodeDataType, loc+".id", "resource id differs from the entry url id")
	case e.Action == ActionCreate:
		e.ID = doc.ID
		if e.ID == "" && newID != nil {
			e.ID = newID()
		}
	}
	e.Body = res
	e.PatientRef = PatientRef(doc)
	return nil
}

// splitEntryURL splits "Patient" or "Patient/123", or the same after an
// absolute base URL, into type and id; conditional urls ("?") fail.
func splitEntryURL(u string) (typ, id string, ok bool) {
	if strings.ContainsAny(u, "?#") {
		return "", "", false
	}
	parts := strings.Split(strings.TrimPrefix(u, "/"), "/")
	if strings.Contains(u, "://") {
		// Absolute: [base]/Type or [base]/Type/id, the base being anything.
		n := len(parts)
		switch {
		case n >= 1 && fhirval.KnownResourceType(parts[n-1]):
			return parts[n-1], "", true
		case n >= 2 && fhirval.KnownResourceType(parts[n-2]):
			return parts[n-2], parts[n-1], parts[n-1] != ""
		}
		return "", "", false
	}
	switch len(parts) {
	case 1:
		return parts[0], "", parts[0] != ""
	case 2:
		return parts[0], parts[1], parts[0] != "" && parts[1] != ""
	}
	return "", "", false
}

// resolvePatientRefs replaces urn:uuid / fullUrl references to Patient
// entries of the same transaction by "Patient/<id>", so that a patient and
// its observations created together share a key.
func resolvePatientRefs(entries []Entry) {
	patients := map[string]string{}
	for _, e := range entries {
		if e.ResourceType == "Patient" && e.FullURL != "" && e.ID != "" {
			patients[e.FullURL] = "Patient/" + e.ID
		}
	}
	for i := range entries {
		if k, ok := patients[entries[i].PatientRef]; ok {
			entries[i].PatientRef = k
		}
	}
}

// TransactionRefs maps the fullUrl of every transaction entry that has an
// id to "Type/id": FHIR's transaction rules rewrite references to an
// entry's fullUrl (urn:uuid:..., or an absolute URL) into references to the
// resource the transaction made.
func TransactionRefs(entries []Entry) map[string]string {
	var refs map[string]string
	for _, e := range entries {
		if e.FullURL == "" || e.ID == "" || e.Action == ActionDelete {
			continue
		}
		if refs == nil {
			refs = make(map[string]string, len(entries))
		}
		refs[e.FullURL] = e.ResourceType + "/" + e.ID
	}
	return refs
}

// EntryWarnings keeps the findings located in entry i (a transaction's
// records each carry their own warnings) and the Bundle-level ones.
func EntryWarnings(ws validation.Findings, i int) validation.Findings {
	if len(ws) == 0 {
		return nil
	}
	prefix := "Bundle.entry[" + strconv.Itoa(i) + "]"
	var out validation.Findings
	for _, w := range ws {
		l := w.Location
		if strings.HasPrefix(l, "Bundle.entry[") {
			if l != prefix && !strings.HasPrefix(l, prefix+".") {
				continue
			}
		}
		out = append(out, w)
	}
	return out
}
