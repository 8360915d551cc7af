package fhirdoor

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/fhir"
	"github.com/hl7gw/gateway/internal/topicread"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/fhir/fhirval"
	"github.com/hl7gw/gateway/pipeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestTransactionRecordsLinkToEachOther routes the Patient + Encounter +
// Observation transaction of testdata/linked: the records carry the ids
// the transaction assigned, with every urn:uuid reference rewritten to
// them, the patient's key, and the entry's fullUrl and version in headers.
// The whole routed form is pinned in a golden file (go test -update).
func TestTransactionRecordsLinkToEachOther(t *testing.T) {
	s := newTestSteps(true)
	body := readLinked(t)
	m, err := s.Parse(context.Background(), Request{Action: fhir.ActionCreate}, body)
	if err != nil {
		t.Fatal(err)
	}
	if fs := s.Validate(context.Background(), Request{}, m); fs.HasErrors() {
		t.Fatalf("test transaction is invalid: %v", fs)
	}
	r, err := s.Route(context.Background(), Request{}, m, nil)
	if err != nil || !r.Atomic || len(r.Records) != 3 {
		t.Fatalf("routed %d records (atomic %v): %v", len(r.Records), r.Atomic, err)
	}
	checkLinked(t, r.Records)
	var golden strings.Builder
	for _, rec := range r.Records {
		golden.WriteString(rec.Topic + " key=" + string(rec.Key) + " full_url=" + header(rec, "fhir.full_url") +
			" id=" + header(rec, "fhir.id") + " version_id=" + header(rec, "fhir.version_id") + "\n" + string(rec.Value) + "\n")
	}
	const path = "testdata/linked/transaction.records.golden"
	if *update {
		if err := os.WriteFile(path, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if golden.String() != string(want) {
		t.Errorf("routed records differ from %s:\n%s", path, golden.String())
	}
}

func readLinked(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/linked/transaction.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkLinked checks the three records of testdata/linked: each value is a
// strictly valid resource whose id is its fhir.id header and key, version
// and fullUrl headers match; the Encounter and the Observation reference
// the Patient and the Observation the Encounter by the ids assigned.
func checkLinked(t *testing.T, recs []*kgo.Record) {
	t.Helper()
	type res struct {
		ID   string `json:"id"`
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
		Subject   struct{ Reference string } `json:"subject"`
		Encounter struct{ Reference string } `json:"encounter"`
	}
	byType := map[string]res{}
	fullURLs := map[string]string{}
	for _, rec := range recs {
		var v res
		if err := json.Unmarshal(rec.Value, &v); err != nil {
			t.Fatalf("%s: %v", rec.Topic, err)
		}
		typ := header(rec, "fhir.resource_type")
		if _, fs := fhirval.Check(rec.Value, fhirval.Options{Strict: true}); fs.HasErrors() {
			t.Errorf("%s record is not valid FHIR: %v", typ, fs)
		}
		if v.ID == "" || v.ID != header(rec, "fhir.id") || v.Meta.VersionID != header(rec, "fhir.version_id") || v.Meta.VersionID != header(rec, "ce_id") {
			t.Errorf("%s: id %q version %q do not match headers fhir.id %q fhir.version_id %q ce_id %q", typ, v.ID, v.Meta.VersionID,
				header(rec, "fhir.id"), header(rec, "fhir.version_id"), header(rec, "ce_id"))
		}
		byType[typ] = v
		fullURLs[typ] = header(rec, "fhir.full_url")
	}
	patient := "Patient/" + byType["Patient"].ID
	enc := "Encounter/" + byType["Encounter"].ID
	if got := byType["Encounter"].Subject.Reference; got != patient {
		t.Errorf("Encounter.subject %q, want %q", got, patient)
	}
	if o := byType["Observation"]; o.Subject.Reference != patient || o.Encounter.Reference != enc {
		t.Errorf("Observation subject %q encounter %q, want %q and %q", o.Subject.Reference, o.Encounter.Reference, patient, enc)
	}
	for _, rec := range recs {
		if string(rec.Key) != patient {
			t.Errorf("%s key %q, want %q", rec.Topic, rec.Key, patient)
		}
	}
	if fullURLs["Patient"] != "urn:uuid:3f1c2a4e-0b7d-4c1e-9a55-6d2f8e1b7c01" || fullURLs["Observation"] != "urn:uuid:c5d9e1f3-7a2b-4e6c-8d0f-3b4a5c6d7e03" {
		t.Errorf("fhir.full_url headers %v", fullURLs)
	}
}

func TestRecordsAsReceivedKeepTheBytes(t *testing.T) {
	s := NewSteps(StepsConfig{Connector: "c", AsReceived: true, NewID: seqIDs()})
	body := readLinked(t)
	m, err := s.Parse(context.Background(), Request{Action: fhir.ActionCreate}, body)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Route(context.Background(), Request{}, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range r.Records {
		e := m.Entries[i]
		if string(rec.Value) != string(e.Body) {
			t.Errorf("entry %d record is not the entry as received", i)
		}
		if header(rec, "fhir.id") != e.ID || header(rec, "fhir.version_id") != e.EventID || header(rec, "fhir.full_url") != e.FullURL {
			t.Errorf("entry %d headers do not name id, version and fullUrl", i)
		}
		if len(e.Stored) == 0 {
			t.Errorf("entry %d has no stored form for the answer", i)
		}
	}
}

// TestConditionsAreFoundNotIgnored: every conditional or versioned element
// of a Bundle entry is reported (TransactionConditions, SplitBatch's
// Entry.Condition), and Parse refuses a transaction that has one.
func TestConditionsAreFoundNotIgnored(t *testing.T) {
	entry := func(req string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient/1"}},` +
			`{"resource":{"resourceType":"Patient","id":"2"},"request":` + req + `}]}`
	}
	tests := []struct {
		name, req string
		want      fhir.Condition
		wantLoc   string
	}{
		{"ifNoneExist is a conditional create", `{"method":"POST","url":"Patient","ifNoneExist":"identifier=x|1"}`, fhir.CondIfNoneExist, "Bundle.entry[1].request.ifNoneExist"},
		{"ifMatch is a versioned update", `{"method":"PUT","url":"Patient/2","ifMatch":"W/\"3\""}`, fhir.CondIfMatch, "Bundle.entry[1].request.ifMatch"},
		{"ifNoneMatch is a precondition", `{"method":"PUT","url":"Patient/2","ifNoneMatch":"*"}`, fhir.CondIfNoneMatch, "Bundle.entry[1].request.ifNoneMatch"},
		{"ifModifiedSince is a precondition", `{"method":"PUT","url":"Patient/2","ifModifiedSince":"2020-01-01T00:00:00Z"}`, fhir.CondIfModifiedSince, "Bundle.entry[1].request.ifModifiedSince"},
		{"a search url is a conditional update", `{"method":"PUT","url":"Patient?identifier=x|1"}`, fhir.CondSearch, "Bundle.entry[1].request.url"},
		{"a plain update has none", `{"method":"PUT","url":"Patient/2"}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(entry(tt.req))
			got := fhir.TransactionConditions(body)
			_, perr := newTestSteps(true).Parse(context.Background(), Request{Action: fhir.ActionCreate}, body)
			batch, berr := fhir.SplitBatch([]byte(strings.Replace(string(body), `"transaction"`, `"batch"`, 1)))
			if berr != nil {
				t.Fatalf("SplitBatch: %v", berr)
			}
			if tt.want == "" {
				if len(got) != 0 || perr != nil || batch[1].Condition != "" {
					t.Errorf("conditions %v, parse error %v, batch condition %q; want none", got, perr, batch[1].Condition)
				}
				return
			}
			if len(got) != 1 || got[0].Condition != tt.want || got[0].Location() != tt.wantLoc {
				t.Errorf("conditions %+v, want %s at %s", got, tt.want, tt.wantLoc)
			}
			if perr == nil {
				t.Error("Parse accepted a conditional transaction")
			}
			if batch[1].Condition != tt.want || batch[0].Condition != "" {
				t.Errorf("batch conditions %q, %q", batch[0].Condition, batch[1].Condition)
			}
			if tt.want.Precondition() == (tt.want == fhir.CondSearch) {
				t.Errorf("%s: Precondition() = %v", tt.want, tt.want.Precondition())
			}
		})
	}
}

// TestLinkedTransactionIsCommittedWholeOrNotAtAll publishes the linked
// transaction through the gateway's producer into kfake: a read_committed
// consumer sees its three records, linked; the same transaction with one
// invalid entry leaves nothing on the data topics.
func TestLinkedTransactionIsCommittedWholeOrNotAtAll(t *testing.T) {
	pl, c := testPipeline(t, true)
	ctx := context.Background()
	body := readLinked(t)
	m, out := pl.Submit(ctx, Request{Action: fhir.ActionCreate}, body)
	if out.Status != pipeline.Accepted || len(out.Deliveries) != 3 {
		t.Fatalf("transaction: %+v", out)
	}
	topics := []string{"fhir.patient.created", "fhir.encounter.created", "fhir.observation.created"}
	recs := topicread.N(t, c.ListenAddrs(), 3, topics...)
	if len(recs) != 3 {
		t.Fatalf("read_committed consumer sees %d records, want 3", len(recs))
	}
	checkLinked(t, recs)
	for i, e := range m.Entries {
		if string(recs[i].Value) != string(e.Stored) && !containsValue(recs, e.Stored) {
			t.Errorf("entry %d: the answer's stored form is not the record", i)
		}
	}

	broken := []byte(strings.Replace(string(body), `"status": "final"`, `"status": "not-a-status"`, 1))
	if _, out := pl.Submit(ctx, Request{Action: fhir.ActionCreate}, broken); out.Status != pipeline.Invalid {
		t.Fatalf("broken transaction: %+v", out)
	}
	if recs := topicread.N(t, c.ListenAddrs(), 1, "fhir.dlq"); len(recs) != 1 {
		t.Fatalf("%d dead-letter records, want 1", len(recs))
	}
	if recs := topicread.For(t, c.ListenAddrs(), time.Second, topics...); len(recs) != 3 {
		t.Errorf("%d records on the data topics after the broken transaction, want still 3", len(recs))
	}
}

func containsValue(recs []*kgo.Record, v []byte) bool {
	for _, r := range recs {
		if string(r.Value) == string(v) {
			return true
		}
	}
	return false
}
