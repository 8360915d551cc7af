package fhirdoor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/fhir"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/internal/topicread"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	return corpus.Read(t, corpus.FHIR, "valid/"+name)
}

func TestTransactionOfPOSTsRoutesOneRecordPerEntryAtomically(t *testing.T) {
	s := newTestSteps(true)
	body := readFile(t, "r4ex-Bundle-hla-1.json")
	req := Request{Action: fhir.ActionCreate}
	m, err := s.Parse(context.Background(), req, body)
	if err != nil {
		t.Fatal(err)
	}
	if m.BundleType != "transaction" || len(m.Entries) != 22 || s.Kind(m) != "Bundle" {
		t.Fatalf("bundle type %q with %d entries", m.BundleType, len(m.Entries))
	}
	if fs := s.Validate(context.Background(), req, m); fs.HasErrors() {
		t.Fatalf("official example refused: %v", fs)
	}
	r, err := s.Route(context.Background(), req, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Atomic || len(r.Records) != 22 {
		t.Fatalf("atomic %v, %d records", r.Atomic, len(r.Records))
	}
	for i, rec := range r.Records {
		e := m.Entries[i]
		if !strings.HasSuffix(rec.Topic, ".created") || !strings.HasPrefix(rec.Topic, "fhir.") {
			t.Errorf("entry %d topic %q", i, rec.Topic)
		}
		if string(rec.Key) != "Patient/119" {
			t.Errorf("entry %d key %q, want the patient", i, rec.Key)
		}
		if !strings.HasPrefix(e.ID, "id-") || e.Index != i || !strings.Contains(string(body), string(e.Body)) {
			t.Errorf("entry %d: id %q index %d, body not a slice of the bundle", i, e.ID, e.Index)
		}
	}
}

func TestTransactionOfPUTsWithAbsoluteURLsTakesTheURLIDs(t *testing.T) {
	s := newTestSteps(true)
	m, err := s.Parse(context.Background(), Request{Action: fhir.ActionCreate}, readFile(t, "r4ex-Bundle-ussg-fht.json"))
	if err != nil {
		t.Fatal(err)
	}
	if e := m.Entries[0]; e.Action != fhir.ActionUpdate || e.ResourceType != "Questionnaire" || e.ID != "54127-6" {
		t.Errorf("first entry %+v", e)
	}
}

func TestTransactionKeysResolveURNPatientReferences(t *testing.T) {
	body := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Patient","active":true},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},"foo":1},"request":{"method":"POST","url":"Observation"}},
	 {"request":{"method":"DELETE","url":"Patient/old"}}]}`
	s := newTestSteps(false)
	req := Request{Action: fhir.ActionCreate}
	m, err := s.Parse(context.Background(), req, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	fs := s.Validate(context.Background(), req, m)
	if fs.HasErrors() || len(fs) != 1 {
		t.Fatalf("lenient findings %v", fs)
	}
	r, err := s.Route(context.Background(), req, m, fs)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ topic, key, warnings string }{
		{"fhir.patient.created", "Patient/id-1", ""},
		{"fhir.observation.created", "Patient/id-1", "1:100@Bundle.entry[1].resource.foo"},
		{"fhir.patient.deleted", "Patient/old", ""},
	}
	for i, w := range want {
		rec := r.Records[i]
		var warn string
		for _, h := range rec.Headers {
			if h.Key == "fhir.warnings" {
				warn = string(h.Value)
			}
		}
		if rec.Topic != w.topic || string(rec.Key) != w.key || warn != w.warnings {
			t.Errorf("record %d: %q %q %q, want %+v", i, rec.Topic, rec.Key, warn, w)
		}
	}
	if len(r.Records[2].Value) != 0 {
		t.Errorf("a delete record has a value")
	}
}

// testPipeline runs the FHIR steps on a real pipeline publishing through
// the gateway's producer to a kfake broker over TCP.
func testPipeline(t *testing.T, strict bool) (*pipeline.Pipeline[Request, *Message], *kfake.Cluster) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "fhir.patient.created", "fhir.observation.created", "fhir.encounter.created", "fhir.patient.deleted", "fhir.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	k := config.Default().Kafka
	k.Producer.DeliveryTimeout = 5 * time.Second
	k.Producer.RequestTimeout = 2 * time.Second
	k.Producer.Linger = time.Millisecond
	k.Producer.TransactionalProducers = 1
	p, err := publish.New(context.Background(), k, c.ListenAddrs(), prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	steps := newTestSteps(strict)
	pl := pipeline.New(pipeline.Config{
		Connector: "fhir-rest", ValidationEnabled: true, DLQTopic: "fhir.dlq", DLQContextHeaders: true,
		ContentType: "application/fhir+json",
	}, steps, p, nil)
	return pl, c
}

func TestPipelineOverKafka(t *testing.T) {
	pl, c := testPipeline(t, true)
	ctx := context.Background()
	patient := readFile(t, "r4ex-Patient-example.json")

	_, out := pl.Submit(ctx, Request{Action: fhir.ActionCreate, ResourceType: "Patient"}, patient)
	if out.Status != pipeline.Accepted || len(out.Deliveries) != 1 || out.Deliveries[0].Topic != "fhir.patient.created" {
		t.Fatalf("create: %+v", out)
	}
	bad := []byte(`{"resourceType":"Patient","id":"x","birthDate":"never"}`)
	_, out = pl.Submit(ctx, Request{Action: fhir.ActionCreate, ResourceType: "Patient"}, bad)
	if out.Status != pipeline.Invalid || out.Stage != pipeline.StageValidate || out.Deliveries[0].Topic != "fhir.dlq" {
		t.Fatalf("invalid: %+v", out)
	}
	tx := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Patient","id":"tp"},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/tp"}},"request":{"method":"POST","url":"Observation"}},
	 {"request":{"method":"DELETE","url":"Patient/gone"}}]}`
	m, out := pl.Submit(ctx, Request{Action: fhir.ActionCreate}, []byte(tx))
	if out.Status != pipeline.Accepted || len(out.Deliveries) != 3 || len(m.Entries) != 3 {
		t.Fatalf("transaction: %+v", out)
	}

	recs := topicread.N(t, c.ListenAddrs(), 5, "fhir.patient.created", "fhir.observation.created", "fhir.patient.deleted", "fhir.dlq")
	byTopic := map[string][]*kgo.Record{}
	for _, r := range recs {
		byTopic[r.Topic] = append(byTopic[r.Topic], r)
	}
	if got := byTopic["fhir.patient.created"]; len(got) != 2 || !sameResource(t, got[0].Value, patient) || string(got[0].Key) != "Patient/example" {
		t.Errorf("patient records %d", len(got))
	}
	if got := byTopic["fhir.dlq"]; len(got) != 1 || string(got[0].Value) != string(bad) {
		t.Errorf("dlq records %d", len(got))
	} else if loc := header(got[0], "__connect.errors.location"); loc != "Patient.birthDate" {
		t.Errorf("dlq location %q", loc)
	}
	if got := byTopic["fhir.observation.created"]; len(got) != 1 || string(got[0].Key) != "Patient/tp" || header(got[0], "fhir.action") != "create" {
		t.Errorf("observation records %d", len(got))
	}
	if got := byTopic["fhir.patient.deleted"]; len(got) != 1 || len(got[0].Value) != 0 || header(got[0], "fhir.id") != "gone" {
		t.Errorf("delete records %d", len(got))
	}
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}
