package fhirdoor

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hl7gw/gateway/fhir"
	"github.com/hl7gw/gateway/internal/corpus"

	"github.com/hl7gw/gateway/validation"
)

// seqIDs returns a deterministic NewID for tests: id-1, id-2, ...
func seqIDs() func() string {
	var n atomic.Int64
	return func() string { return "id-" + strconv.FormatInt(n.Add(1), 10) }
}

func newTestSteps(strict bool) *Steps {
	return NewSteps(StepsConfig{
		Connector: "fhir-rest", ValidationEnabled: true, Strict: strict, NewID: seqIDs(),
		Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
	})
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		body     string
		wantID   string
		assigned bool
		wantCode validation.Code
		wantLoc  string
	}{
		{name: "a create keeps the body id", req: Request{Action: fhir.ActionCreate, ResourceType: "Patient"}, body: `{"resourceType":"Patient","id":"p1"}`, wantID: "p1"},
		{name: "a create without id gets an assigned id", req: Request{Action: fhir.ActionCreate, ResourceType: "Patient"}, body: `{"resourceType":"Patient"}`, wantID: "id-1", assigned: true},
		{name: "an update takes the URL id when the body agrees", req: Request{Action: fhir.ActionUpdate, ResourceType: "Patient", ID: "p1"}, body: `{"resourceType":"Patient","id":"p1"}`, wantID: "p1"},
		{name: "an update whose body id differs is refused", req: Request{Action: fhir.ActionUpdate, ResourceType: "Patient", ID: "p1"}, body: `{"resourceType":"Patient","id":"p2"}`, wantCode: validation.CodeDataType, wantLoc: "Patient.id"},
		{name: "an update without a body id is refused", req: Request{Action: fhir.ActionUpdate, ResourceType: "Patient", ID: "p1"}, body: `{"resourceType":"Patient"}`, wantCode: validation.CodeRequiredMissing, wantLoc: "Patient.id"},
		{name: "an update with a bad URL id is refused", req: Request{Action: fhir.ActionUpdate, ResourceType: "Patient", ID: "a b"}, body: `{"resourceType":"Patient","id":"a b"}`, wantCode: validation.CodeDataType, wantLoc: "Patient.id"},
		{name: "an id longer than 64 characters is refused", req: Request{Action: fhir.ActionCreate, ResourceType: "Patient"}, body: `{"resourceType":"Patient","id":"` + strings.Repeat("a", 65) + `"}`, wantCode: validation.CodeDataType, wantLoc: "Patient.id"},
		{name: "a resourceType different from the URL is refused", req: Request{Action: fhir.ActionCreate, ResourceType: "Patient"}, body: `{"resourceType":"Observation"}`, wantCode: validation.CodeDataType, wantLoc: "Resource.resourceType"},
		{name: "a body without resourceType is refused", req: Request{Action: fhir.ActionCreate, ResourceType: "Patient"}, body: `{"id":"x"}`, wantCode: validation.CodeRequiredMissing, wantLoc: "Resource.resourceType"},
		{name: "an unknown type in the URL is refused", req: Request{Action: fhir.ActionCreate, ResourceType: "Patients"}, body: `{"resourceType":"Patients"}`, wantCode: validation.CodeUnsupportedType, wantLoc: "Resource.resourceType"},
		{name: "a body that is not JSON is refused at parse", req: Request{Action: fhir.ActionCreate, ResourceType: "Patient"}, body: `<Patient/>`, wantCode: validation.CodeSegmentSequence},
		{name: "a JSON array is refused at parse", req: Request{Action: fhir.ActionCreate, ResourceType: "Patient"}, body: `[{"resourceType":"Patient"}]`, wantCode: validation.CodeSegmentSequence},
		{name: "a delete has no body and takes the URL id", req: Request{Action: fhir.ActionDelete, ResourceType: "Patient", ID: "p9"}, body: ``, wantID: "p9"},
		{name: "a delete with a body is refused", req: Request{Action: fhir.ActionDelete, ResourceType: "Patient", ID: "p9"}, body: `{}`, wantCode: validation.CodeSegmentSequence},
		{name: "a batch Bundle at the base URL is refused: doors split batches", req: Request{Action: fhir.ActionCreate}, body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"Patient/1"}}]}`, wantCode: validation.CodeDataType, wantLoc: "Bundle.type"},
		{name: "a document Bundle at the base URL is refused", req: Request{Action: fhir.ActionCreate}, body: `{"resourceType":"Bundle","type":"document"}`, wantCode: validation.CodeDataType, wantLoc: "Bundle.type"},
		{name: "a PUT to the base URL is refused", req: Request{Action: fhir.ActionUpdate}, body: `{"resourceType":"Bundle","type":"transaction"}`, wantCode: validation.CodeUnsupportedEvent},
		{name: "an unknown action is refused", req: Request{Action: "patch", ResourceType: "Patient"}, body: `{"resourceType":"Patient"}`, wantCode: validation.CodeUnsupportedEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := newTestSteps(true).Parse(context.Background(), tt.req, []byte(tt.body))
			if tt.wantCode != validation.CodeOK {
				var ve *validation.Error
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want a *validation.Error", err)
				}
				f, _ := ve.Findings.FirstError()
				if f.Code != tt.wantCode || (tt.wantLoc != "" && f.Location != tt.wantLoc) {
					t.Errorf("finding %v, want code %d at %q", f, tt.wantCode, tt.wantLoc)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != tt.wantID || m.AssignedID() != tt.assigned || m.ResourceType != tt.req.ResourceType || string(m.Body) != tt.body {
				t.Errorf("message %+v, want id %q (assigned %v)", m, tt.wantID, tt.assigned)
			}
		})
	}
}

func TestNewUUIDIsALowerCaseVersion4UUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		u := NewUUID()
		if !re.MatchString(u) || seen[u] {
			t.Fatalf("bad or repeated UUID %q", u)
		}
		seen[u] = true
	}
}

func TestValidateFollowsTheMode(t *testing.T) {
	body := []byte(`{"resourceType":"Patient","id":"p1","foo":1}`)
	req := Request{Action: fhir.ActionCreate, ResourceType: "Patient"}
	for _, strict := range []bool{true, false} {
		s := newTestSteps(strict)
		m, err := s.Parse(context.Background(), req, body)
		if err != nil {
			t.Fatal(err)
		}
		fs := s.Validate(context.Background(), req, m)
		if fs.HasErrors() != strict || len(fs) != 1 || fs[0].Location != "Patient.foo" {
			t.Errorf("strict=%v: findings %v", strict, fs)
		}
	}
}

func TestRouteOneResource(t *testing.T) {
	s := newTestSteps(true)
	body := corpus.Read(t, corpus.FHIR, "valid/r4ex-Observation-example.json")
	req := Request{Action: fhir.ActionUpdate, ResourceType: "Observation", ID: "example"}
	m, err := s.Parse(context.Background(), req, body)
	if err != nil {
		t.Fatal(err)
	}
	if fs := s.Validate(context.Background(), req, m); len(fs) != 0 {
		t.Fatalf("official example has findings: %v", fs)
	}
	r, err := s.Route(context.Background(), req, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Atomic || len(r.Records) != 1 {
		t.Fatalf("routed %+v", r)
	}
	rec := r.Records[0]
	if rec.Topic != "fhir.observation.updated" || string(rec.Key) != "Patient/example" || !sameResource(t, rec.Value, body) {
		t.Errorf("record topic %q key %q", rec.Topic, rec.Key)
	}
	if got := header(rec, "fhir.version_id"); got == "" || got != m.EventID || got != header(rec, "ce_id") {
		t.Errorf("fhir.version_id %q, want the event id %q", got, m.EventID)
	}
	if got := s.Kind(m); got != "Observation" {
		t.Errorf("Kind = %q", got)
	}
	if got := s.Kind(nil); got != "other" {
		t.Errorf("Kind(nil) = %q", got)
	}
}

// FuzzParse checks that Parse never panics, that every error is a
// *validation.Error, and that accepted messages are consistent with the
// request.
func FuzzParse(f *testing.F) {
	f.Add(uint8(0), "Patient", "", []byte(`{"resourceType":"Patient"}`))
	// Official examples from the FHIR corpus: a create, an update, an
	// update whose URL id differs from the body's, and a transaction.
	patient := corpus.Read(f, corpus.FHIR, "valid/r4ex-Patient-example.json")
	f.Add(uint8(0), "Patient", "", patient)
	f.Add(uint8(1), "Patient", "example", patient)
	f.Add(uint8(1), "Observation", "other", corpus.Read(f, corpus.FHIR, "valid/r4ex-Observation-example.json"))
	f.Add(uint8(3), "", "", corpus.Read(f, corpus.FHIR, "valid/r4ex-Bundle-hla-1.json"))
	f.Fuzz(func(t *testing.T, action uint8, typ, id string, body []byte) {
		actions := []fhir.Action{fhir.ActionCreate, fhir.ActionUpdate, fhir.ActionDelete, fhir.ActionCreate}
		req := Request{Action: actions[action%4], ResourceType: typ, ID: id}
		if action%4 == 3 {
			req.ResourceType = "" // POST /fhir
		}
		s := newTestSteps(true)
		m, err := s.Parse(context.Background(), req, body)
		if err != nil {
			var ve *validation.Error
			if !errors.As(err, &ve) || !ve.Findings.HasErrors() {
				t.Fatalf("error %v is not a validation error", err)
			}
			return
		}
		if !fhir.ValidID(m.ID) && m.BundleType == "" {
			t.Fatalf("accepted message with id %q", m.ID)
		}
		if m.BundleType == "transaction" {
			for _, e := range m.Entries {
				if e.Action != fhir.ActionDelete && len(e.Body) == 0 {
					t.Fatalf("entry %d has no body", e.Index)
				}
			}
		}
		_ = s.Validate(context.Background(), req, m)
		if _, err := s.Route(context.Background(), req, m, nil); err != nil {
			t.Fatalf("route failed after a successful parse: %v", err)
		}
	})
}

// sameResource reports whether stored is received apart from meta (the
// stored form sets meta.versionId and meta.lastUpdated).
func sameResource(t *testing.T, stored, received []byte) bool {
	t.Helper()
	var a, b map[string]any
	if json.Unmarshal(stored, &a) != nil || json.Unmarshal(received, &b) != nil {
		return false
	}
	delete(a, "meta")
	delete(b, "meta")
	return reflect.DeepEqual(a, b)
}
