// Package fhirdoor is the FHIR R4 door of the gateway pipeline: its Steps
// parse a REST/gRPC request body into a Message (with the pure format
// package fhir), validate it (package fhirval), and route it to
// fhir.<type>.<created|updated|deleted> records (package router). Doors
// (package api) build a pipeline with NewSteps and submit each request;
// batch Bundles are split by the door with fhir.SplitBatch and each entry
// is submitted on its own.
package fhirdoor

import (
	"bytes"
	"context"
	"crypto/rand"
	"github.com/hl7gw/gateway/fhir"
	"runtime"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/fhir/fhirval"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/router"
	"github.com/hl7gw/gateway/validation"
)

// Request is what the door knows besides the body.
type Request struct {
	Action fhir.Action
	// ResourceType is from the URL; "" for POST /fhir (a Bundle).
	ResourceType string
	// ID is from the URL (update, delete). For create the door leaves it
	// empty; Parse takes the body's id or assigns a UUID v4.
	ID string
	// FullURL is the Bundle entry's fullUrl for an entry of a batch,
	// submitted on its own; it travels in the fhir.full_url header.
	FullURL string
}

// Message is a parsed FHIR request.
type Message struct {
	ResourceType, ID string
	Action           fhir.Action
	// BundleType is "transaction" for POST /fhir, "" otherwise.
	BundleType string
	// Entries are a transaction's entries as routed; each Body is the
	// entry's resource JSON exactly as received (nil for deletes).
	Entries []fhir.Entry
	// Body is the request body as received.
	Body []byte
	// EventID is the CloudEvents id (ce_id) of the single resource's
	// record, assigned by Parse. It is also the version id the request
	// made (VersionID). Transactions carry one per entry instead.
	EventID string
	// FullURL is Request.FullURL.
	FullURL string
	// Stored is the resource as a FHIR server would have stored it (see
	// record.go), made by Route for creates and updates; the REST door
	// returns it when the client asks for the representation.
	Stored []byte
	// LastUpdated is the receipt time set by Route (meta.lastUpdated).
	LastUpdated time.Time

	patientRef string       // subject/patient reference of a single resource
	assignedID bool         // ID was assigned by the gateway
	doc        *fhirval.Doc // Parse's scan of Body, reused by Validate
}

// AssignedID reports whether the gateway assigned the id (a create whose
// body had none).
func (m *Message) AssignedID() bool { return m != nil && m.assignedID }

// StepsConfig configures the FHIR steps of one connector.
type StepsConfig struct {
	Connector   string // ce_source
	TopicPrefix string // topic.prefix
	// ValidationEnabled mirrors fhir.validation.enabled (the pipeline skips
	// Validate when false); Strict mirrors fhir.parser.strict.
	ValidationEnabled, Strict bool
	// AsReceived mirrors fhir.record.form: as-received: records carry the
	// resource bytes exactly as received instead of the stored form.
	AsReceived bool
	Now        func() time.Time // nil = time.Now
	NewID      func() string    // nil = random UUID v4
}

// Steps implements pipeline.Steps[Request, *Message]. It holds no mutable
// state and is safe for concurrent use.
type Steps struct {
	cfg StepsConfig
}

var _ pipeline.Steps[Request, *Message] = (*Steps)(nil)

// NewSteps returns the FHIR steps for cfg.
func NewSteps(cfg StepsConfig) *Steps {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = NewUUID
	}
	return &Steps{cfg: cfg}
}

// Parse reads the request: the body must be a JSON object whose
// resourceType matches the URL and whose id follows FHIR's id rule (and, for
// an update, equals the URL id); a delete has no body; POST /fhir takes a
// transaction Bundle. It assigns the event id of each record to be
// (Message.EventID, Entry.EventID), after any resource id it assigns.
// Failures are *validation.Error with FHIRPath locations:
//
//   - not JSON / not an object: 100 at the JSON position;
//   - resourceType missing: 101 at Resource.resourceType; unknown: 200;
//     different from the URL: 102 at Resource.resourceType;
//   - bad id: 102 at <Type>.id; update without a body id: 101 at <Type>.id;
//     body id different from the URL id: 102 at <Type>.id;
//   - a batch Bundle (doors split those) or another Bundle type on POST
//     /fhir: 102 at Bundle.type.
//
// It does not block and keeps no reference to raw beyond the Message.
func (s *Steps) Parse(_ context.Context, req Request, raw []byte) (*Message, error) {
	switch req.Action {
	case fhir.ActionCreate, fhir.ActionUpdate, fhir.ActionDelete:
	default:
		return nil, validation.Errorf(validation.CodeUnsupportedEvent, "", "unsupported FHIR action")
	}
	if req.ResourceType == "" {
		if req.Action != fhir.ActionCreate {
			return nil, validation.Errorf(validation.CodeUnsupportedEvent, "Bundle", "only POST takes a Bundle at the base URL")
		}
		return s.parseTransaction(raw)
	}
	if !fhirval.KnownResourceType(req.ResourceType) {
		return nil, validation.Errorf(validation.CodeUnsupportedType, "Resource.resourceType", "unknown R4 resource type in the URL")
	}
	if req.Action == fhir.ActionDelete {
		return s.parseDelete(req, raw)
	}
	doc, err := topLevel(raw)
	if err != nil {
		return nil, err
	}
	if err := fhir.CheckResourceType(doc, req.ResourceType, "Resource"); err != nil {
		return nil, err
	}
	m := &Message{ResourceType: req.ResourceType, Action: req.Action, Body: raw, FullURL: req.FullURL, patientRef: fhir.PatientRef(doc), doc: doc}
	idLoc := req.ResourceType + ".id"
	if doc.HasID && !fhir.ValidID(doc.ID) {
		return nil, validation.Errorf(validation.CodeDataType, idLoc, "id does not match [A-Za-z0-9-.]{1,64}")
	}
	switch req.Action {
	case fhir.ActionCreate:
		m.ID = doc.ID
		if m.ID == "" {
			m.ID, m.assignedID = s.cfg.NewID(), true
		}
	case fhir.ActionUpdate:
		if !fhir.ValidID(req.ID) {
			return nil, validation.Errorf(validation.CodeDataType, idLoc, "URL id does not match [A-Za-z0-9-.]{1,64}")
		}
		if !doc.HasID {
			return nil, validation.Errorf(validation.CodeRequiredMissing, idLoc, "update body has no id")
		}
		if doc.ID != req.ID {
			return nil, validation.Errorf(validation.CodeDataType, idLoc, "body id differs from the URL id")
		}
		m.ID = req.ID
	}
	m.EventID = s.cfg.NewID()
	return m, nil
}

func (s *Steps) parseDelete(req Request, raw []byte) (*Message, error) {
	if len(bytes.TrimSpace(raw)) != 0 {
		return nil, validation.Errorf(validation.CodeSegmentSequence, req.ResourceType, "delete takes no body")
	}
	if !fhir.ValidID(req.ID) {
		return nil, validation.Errorf(validation.CodeDataType, req.ResourceType+".id", "URL id does not match [A-Za-z0-9-.]{1,64}")
	}
	return &Message{ResourceType: req.ResourceType, ID: req.ID, Action: fhir.ActionDelete, Body: raw, FullURL: req.FullURL, EventID: s.cfg.NewID()}, nil
}

// topLevel scans raw and refuses what is not a JSON object. Only syntax
// findings stop Parse; content findings are Validate's.
func topLevel(raw []byte) (*fhirval.Doc, error) {
	doc, syntax := fhirval.Scan(raw)
	if len(syntax) > 0 {
		return nil, &validation.Error{Findings: syntax}
	}
	return doc, nil
}

// Validate runs fhirval on the body (strict or lenient per the config),
// reusing Parse's scan of it. Deletes have nothing to validate. It does not
// block.
//
// It yields the processor once first: validation is a quarter of a
// millisecond of CPU without a blocking point, and goroutines readied by
// the network meanwhile (the Kafka client reading an acknowledgement,
// other requests' readers) would otherwise wait behind all of it, hop by
// hop. With 8 clients on 2 cores the yield raised the POST rate by about
// 6% (bench/fhirload).
func (s *Steps) Validate(_ context.Context, _ Request, m *Message) validation.Findings {
	if m == nil || m.Action == fhir.ActionDelete && m.BundleType == "" {
		return nil
	}
	runtime.Gosched() // see above
	return fhirval.CheckScanned(m.Body, m.doc, fhirval.Options{Strict: s.cfg.Strict})
}

// Route builds the records: one for a single resource, one per entry for a
// transaction (Atomic). Creates and updates get their stored form
// (Message.Stored, Entry.Stored), which is also the record value unless
// the connector keeps records as received. It does not block.
func (s *Steps) Route(_ context.Context, _ Request, m *Message, warnings validation.Findings) (pipeline.Routed, error) {
	now := s.cfg.Now()
	if m.BundleType == "" {
		m.LastUpdated = now
		value, err := s.value(m.Body, &m.Stored, m.Action, m.ID, m.EventID, now, nil)
		if err != nil {
			return pipeline.Routed{}, err
		}
		rec, err := router.FHIRRecord(value, s.cfg.TopicPrefix, s.cfg.Connector, router.FHIRMeta{
			ResourceType: m.ResourceType, ID: m.ID, Action: string(m.Action),
			PatientRef: m.patientRef, EventID: m.EventID,
			VersionID: fhir.VersionID(m.EventID), FullURL: m.FullURL,
		}, warnings, now)
		if err != nil {
			return pipeline.Routed{}, err
		}
		return pipeline.Routed{Records: []*kgo.Record{rec}}, nil
	}
	refs := fhir.TransactionRefs(m.Entries)
	recs := make([]*kgo.Record, 0, len(m.Entries))
	for i := range m.Entries {
		e := &m.Entries[i]
		e.LastUpdated = now
		value, err := s.value(e.Body, &e.Stored, e.Action, e.ID, e.EventID, now, refs)
		if err != nil {
			return pipeline.Routed{}, err
		}
		rec, err := router.FHIRRecord(value, s.cfg.TopicPrefix, s.cfg.Connector, router.FHIRMeta{
			ResourceType: e.ResourceType, ID: e.ID, Action: string(e.Action),
			PatientRef: e.PatientRef, EventID: e.EventID,
			VersionID: fhir.VersionID(e.EventID), FullURL: e.FullURL,
		}, fhir.EntryWarnings(warnings, e.Index), now)
		if err != nil {
			return pipeline.Routed{}, err
		}
		recs = append(recs, rec)
	}
	return pipeline.Routed{Records: recs, Atomic: true}, nil
}

// value makes the stored form of a create or update into *stored and
// returns the record value: the stored form, or body as received when the
// connector says so. A delete's value is its (empty) body.
func (s *Steps) value(body []byte, stored *[]byte, action fhir.Action, id, eventID string, now time.Time, refs map[string]string) ([]byte, error) {
	if action == fhir.ActionDelete {
		return body, nil
	}
	b, err := fhir.StoredForm(body, id, fhir.VersionID(eventID), now, refs)
	if err != nil {
		return nil, validation.Errorf(validation.CodeSegmentSequence, "Resource", "resource cannot be re-encoded as a JSON object")
	}
	*stored = b
	if s.cfg.AsReceived {
		return body, nil
	}
	return b, nil
}

// Kind is the resource type for metrics, "other" for unknown types and
// failed parses.
func (s *Steps) Kind(m *Message) string {
	if m == nil || !fhirval.KnownResourceType(m.ResourceType) {
		return "other"
	}
	return m.ResourceType
}

// parseTransaction is Parse for POST /fhir: a transaction Bundle whose
// entries become one record each.
func (s *Steps) parseTransaction(raw []byte) (*Message, error) {
	doc, entries, err := fhir.ParseTransaction(raw, s.cfg.NewID)
	if err != nil {
		return nil, err
	}
	return &Message{ResourceType: "Bundle", Action: fhir.ActionCreate, BundleType: "transaction", Entries: entries, Body: raw, doc: doc}, nil
}

// NewUUID returns a random, lower-case UUID v4 (RFC 9562).
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 36)
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0x0f]
		j += 2
	}
	return string(out)
}
