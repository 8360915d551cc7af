package hl7door_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/hl7/v2fhir"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/router"
)

// adt is an admission with a patient, a visit and an attending doctor;
// %[1]s is the event, %[2]s MSH-10 and %[3]s the birth date.
const adt = "MSH|^~\\&|ADMIT|NORTH WARD|RCV|RFAC|20240101120000||ADT^%[1]s^ADT_A01|%[2]s|P|2.5.1\r" +
	"EVN|%[1]s|20240101120000\r" +
	"PID|1||4711^^^HOSP^MR||DOE^JANE||%[3]s|F\r" +
	"PV1|1|I|W1^101^A||||1234^HOUSE^GREGORY|||||||||||V42^^^HOSP^VN|||||||||||||||||||||||||20240101113000\r"

func adtMessage(event, id, birth string) []byte {
	return []byte(fmt.Sprintf(adt, event, id, birth))
}

// unconvertible is a merge (ADT^A40) without the MRG segment that names
// the patient merged away: stored, but not converted (MRG required).
func unconvertible(id string) []byte {
	return []byte(strings.Replace(string(adtMessage("A40", id, "19700101")), "ADT_A01", "ADT_A39", 1))
}

// fixedNow is the receipt time in every conversion test.
var fixedNow = time.Date(2024, 1, 1, 12, 0, 1, 0, time.UTC)

// convRig is an HL7 door on a kfake broker, converting the types given.
type convRig struct {
	cluster *kfake.Cluster
	door    *hl7door.Door
	conv    *hl7door.Converter // nil: conversion off
}

// newConvRig builds the door of connector "t". types nil means conversion
// off; dlq "" means no FHIR dead-letter record (errors.tolerance none).
func newConvRig(t *testing.T, types []string, dlq string) *convRig {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	k := config.Default().Kafka
	k.Producer.DeliveryTimeout, k.Producer.RequestTimeout = 3*time.Second, time.Second
	prod, err := publish.New(context.Background(), k, cluster.ListenAddrs(), prometheus.NewRegistry(), slog.New(slog.DiscardHandler), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	r := &convRig{cluster: cluster}
	sc := hl7door.StepsConfig{Connector: "t", Now: func() time.Time { return fixedNow }}
	if types != nil {
		r.conv = hl7door.NewConverter(hl7door.ConvertConfig{Types: types, DLQTopic: dlq, DLQContextHeaders: true}, "t", prometheus.NewRegistry())
		sc.Converter = r.conv
	}
	cfg := pipeline.Config{Connector: "t", ValidationEnabled: true, DLQTopic: "hl7.dlq", ContentType: router.ContentTypeHL7}
	r.door = hl7door.NewDoor(pipeline.New(cfg, hl7door.NewSteps(sc), prod, nil), nil)
	return r
}

// submit sends raw and returns its ACK code and outcome.
func (r *convRig) submit(t *testing.T, raw []byte) (string, pipeline.Outcome) {
	t.Helper()
	ack, out := r.door.SubmitHL7(context.Background(), raw)
	info, err := hl7.ParseACK(ack)
	if err != nil {
		t.Fatalf("ACK %q: %v", ack, err)
	}
	return info.Code, out
}

// committed returns what a read_committed consumer sees in each topic: a
// plain marker record is written to every topic (of one partition) last
// and read up to.
func (r *convRig) committed(t *testing.T, topics ...string) map[string][]*kgo.Record {
	t.Helper()
	const stop = "--stop--"
	w, err := kgo.NewClient(kgo.SeedBrokers(r.cluster.ListenAddrs()...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, tp := range topics {
		if err := w.ProduceSync(ctx, &kgo.Record{Topic: tp, Value: []byte(stop)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.cluster.ListenAddrs()...), kgo.ConsumeTopics(topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string][]*kgo.Record{}
	done := map[string]bool{}
	for len(done) < len(topics) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed did not reach the end of %d topics (%v done)", len(topics), done)
		}
		for _, rec := range fs.Records() {
			if string(rec.Value) == stop {
				done[rec.Topic] = true
				continue
			}
			got[rec.Topic] = append(got[rec.Topic], rec)
		}
	}
	return got
}

func header(rec *kgo.Record, key string) string {
	for _, h := range rec.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// converted is what v2fhir makes of raw, as the door converts it.
func converted(t *testing.T, raw []byte) *v2fhir.Result {
	t.Helper()
	m, err := hl7.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	res, err := v2fhir.Convert(m, v2fhir.Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func fhirTopic(e v2fhir.Entry) string { return "fhir." + strings.ToLower(e.Type) + "." + e.Op.String() }

func TestAConvertedMessageIsPublishedWithItsResourcesInOneTransaction(t *testing.T) {
	r := newConvRig(t, []string{"ADT^A01"}, "fhir.dlq")
	raw := adtMessage("A01", "CTRL1", "19700101")
	code, out := r.submit(t, raw)
	if code != "AA" {
		t.Fatalf("ACK %s, outcome %+v", code, out)
	}
	want := converted(t, raw)
	if len(out.Deliveries) != 1+len(want.Entries) || out.Deliveries[0].Topic != "hl7.adt.a01" {
		t.Fatalf("deliveries %+v, want the raw record first and %d resources", out.Deliveries, len(want.Entries))
	}
	topics := []string{"hl7.adt.a01", "fhir.dlq"}
	types := map[string]bool{}
	for _, e := range want.Entries {
		topics = append(topics, fhirTopic(e))
		types[e.Type] = true
	}
	if !types["Patient"] || !types["Encounter"] {
		t.Fatalf("the ADT^A01 converts to %v, want a Patient and an Encounter", types)
	}
	got := r.committed(t, topics...)
	if n := len(got["hl7.adt.a01"]); n != 1 {
		t.Fatalf("%d raw records, want 1", n)
	}
	rawRec := got["hl7.adt.a01"][0]
	if string(rawRec.Value) != string(raw) || !rawRec.Attrs.IsTransactional() {
		t.Fatalf("raw record changed or outside the transaction (transactional %v)", rawRec.Attrs.IsTransactional())
	}
	if n := len(got["fhir.dlq"]); n != 0 {
		t.Fatalf("%d dead-letter records for a message that converts", n)
	}
	var patientKey string
	for _, e := range want.Entries {
		if e.Type == "Patient" {
			patientKey = "Patient/" + e.ID
		}
	}
	for _, e := range want.Entries {
		var rec *kgo.Record
		for _, c := range got[fhirTopic(e)] {
			if header(c, "fhir.id") == e.ID && header(c, "fhir.resource_type") == e.Type {
				rec = c
			}
		}
		if rec == nil {
			t.Fatalf("no record of %s/%s in %s", e.Type, e.ID, fhirTopic(e))
		}
		if string(rec.Value) != string(e.JSON) {
			t.Errorf("%s/%s: value is not the converted resource", e.Type, e.ID)
		}
		if string(rec.Key) != e.Key {
			t.Errorf("%s/%s: key %q, want %q", e.Type, e.ID, rec.Key, e.Key)
		}
		if !rec.Attrs.IsTransactional() {
			t.Errorf("%s/%s: not written in a transaction", e.Type, e.ID)
		}
		for k, v := range map[string]string{
			"content-type": "application/fhir+json", "fhir.version": "R4",
			"fhir.action": map[v2fhir.Op]string{v2fhir.Created: "create", v2fhir.Updated: "update"}[e.Op],
			"ce_type":     fhirTopic(e), "ce_source": "/gateway/t/NORTH%20WARD/ADMIT", "ce_id": "CTRL1/" + e.Type + "/" + e.ID,
			"hl7.control_id": "CTRL1", "hl7.sending_facility": "NORTH WARD", "hl7.sending_application": "ADMIT",
			"hl7.message_type": "ADT", "hl7.trigger_event": "A01", "hl7.source.topic": "hl7.adt.a01",
		} {
			if got := header(rec, k); got != v {
				t.Errorf("%s/%s: header %s = %q, want %q", e.Type, e.ID, k, got, v)
			}
		}
	}
	for _, e := range want.Entries {
		if (e.Type == "Patient" || e.Type == "Encounter") && e.Key != patientKey {
			t.Errorf("%s is keyed %q, want the patient's %q so that one partition orders the patient's events", e.Type, e.Key, patientKey)
		}
	}
	if n := testutil.ToFloat64(r.conv.Metric().WithLabelValues("ADT^A01", "converted")); n != 1 {
		t.Errorf("converted count %v, want 1", n)
	}
}

// A value the mapping cannot read is left out of the resource, and every
// record of the message says so, by HL7 location, never by value.
func TestAValueLeftOutIsNamedOnTheConvertedRecords(t *testing.T) {
	r := newConvRig(t, []string{"ADT^A01"}, "fhir.dlq")
	raw := adtMessage("A01", "WARN1", "19620352") // no 52nd day
	if code, _ := r.submit(t, raw); code != "AA" {
		t.Fatalf("ACK %s", code)
	}
	got := r.committed(t, "hl7.adt.a01", "fhir.patient.created", "fhir.dlq")
	if c := counts(got); c["fhir.patient.created"] != 1 || c["fhir.dlq"] != 0 {
		t.Fatalf("records %v: want the Patient converted, nothing dead-lettered", c)
	}
	p := got["fhir.patient.created"][0]
	if w := header(p, "hl7.convert.warnings"); !strings.Contains(w, "@PID-7") || strings.Contains(w, "19620352") {
		t.Errorf("hl7.convert.warnings = %q, want PID-7 named and no value", w)
	}
	if strings.Contains(string(p.Value), "birthDate") {
		t.Error("the Patient has a birthDate made of an impossible date")
	}
	ok := newConvRig(t, []string{"ADT^A01"}, "fhir.dlq")
	ok.submit(t, adtMessage("A01", "WARN2", "19700101"))
	if w := header(ok.committed(t, "fhir.patient.created")["fhir.patient.created"][0], "hl7.convert.warnings"); w != "" {
		t.Errorf("hl7.convert.warnings = %q on a message converted whole", w)
	}
}

func TestConversionIsOffByDefault(t *testing.T) {
	r := newConvRig(t, nil, "")
	code, out := r.submit(t, adtMessage("A01", "OFF1", "19700101"))
	if code != "AA" || len(out.Deliveries) != 1 {
		t.Fatalf("ACK %s, deliveries %+v: want AA and the raw record alone", code, out.Deliveries)
	}
	got := r.committed(t, "hl7.adt.a01", "fhir.patient.created", "fhir.encounter.created", "fhir.dlq")
	if len(got["hl7.adt.a01"]) != 1 || len(got["fhir.patient.created"])+len(got["fhir.encounter.created"])+len(got["fhir.dlq"]) != 0 {
		t.Fatalf("records %v, want one raw record and nothing in FHIR topics", counts(got))
	}
	if got["hl7.adt.a01"][0].Attrs.IsTransactional() {
		t.Error("a message that is not converted was published in a transaction")
	}
}

func TestOnlyTheConfiguredTypesAreConverted(t *testing.T) {
	r := newConvRig(t, []string{"ADT^A08"}, "fhir.dlq")
	if code, out := r.submit(t, adtMessage("A01", "SEL1", "19700101")); code != "AA" || len(out.Deliveries) != 1 {
		t.Fatalf("ADT^A01: ACK %s, %d deliveries, want AA and the raw record alone", code, len(out.Deliveries))
	}
	a08 := adtMessage("A08", "SEL2", "19700101")
	code, out := r.submit(t, a08)
	want := converted(t, a08)
	if code != "AA" || len(out.Deliveries) != 1+len(want.Entries) {
		t.Fatalf("ADT^A08: ACK %s, %d deliveries, want AA and %d", code, len(out.Deliveries), 1+len(want.Entries))
	}
	got := r.committed(t, "hl7.adt.a01", "hl7.adt.a08", "fhir.patient.created", "fhir.patient.updated", "fhir.encounter.updated")
	if c := counts(got); c["hl7.adt.a01"] != 1 || c["hl7.adt.a08"] != 1 || c["fhir.patient.created"] != 0 ||
		c["fhir.patient.updated"] != 1 || c["fhir.encounter.updated"] != 1 {
		t.Fatalf("records %v: want A01 raw only, A08 raw with its Patient and Encounter updated", c)
	}
	if n := testutil.CollectAndCount(r.conv.Metric()); n != 1 {
		t.Errorf("%d conversion series, want only ADT^A08's", n)
	}
}

func TestAMessageThatCannotBeConvertedIsStoredRawAndItsFailureDeadLettered(t *testing.T) {
	r := newConvRig(t, []string{"ADT^A01", "ADT^A40"}, "fhir.dlq")
	raw := unconvertible("BAD1")
	code, out := r.submit(t, raw)
	if code != "AA" || len(out.Deliveries) != 2 {
		t.Fatalf("ACK %s, deliveries %+v: want AA, the raw record and its dead letter", code, out.Deliveries)
	}
	got := r.committed(t, "hl7.adt.a40", "fhir.dlq", "fhir.patient.updated")
	if c := counts(got); c["hl7.adt.a40"] != 1 || c["fhir.dlq"] != 1 || c["fhir.patient.updated"] != 0 {
		t.Fatalf("records %v, want the raw record and one dead letter, no resource", c)
	}
	rawRec, dl := got["hl7.adt.a40"][0], got["fhir.dlq"][0]
	if !dl.Attrs.IsTransactional() || !rawRec.Attrs.IsTransactional() {
		t.Error("the raw record and its dead letter were not written in one transaction")
	}
	if string(dl.Value) != string(raw) || string(dl.Key) != string(rawRec.Key) {
		t.Errorf("dead letter value or key differ from the raw record's (key %q vs %q)", dl.Key, rawRec.Key)
	}
	for k, v := range map[string]string{
		"content-type": "application/hl7-v2", "__connect.errors.stage": "CONVERT", "__connect.errors.location": "MRG",
		"__connect.errors.code": "101", "__connect.errors.class.name": "hl7gw.ConversionError.required_missing",
		"__connect.errors.connector.name": "t", "hl7.control_id": "BAD1", "hl7.sending_facility": "NORTH WARD",
		"hl7.sending_application": "ADMIT", "hl7.source.topic": "hl7.adt.a40",
	} {
		if got := header(dl, k); got != v {
			t.Errorf("dead letter header %s = %q, want %q", k, got, v)
		}
	}
	if msg := header(dl, "__connect.errors.exception.message"); !strings.Contains(msg, "MRG") || strings.Contains(msg, "DOE") {
		t.Errorf("exception message %q: want the location and never a value", msg)
	}
	if n := testutil.ToFloat64(r.conv.Metric().WithLabelValues("ADT^A40", "failed")); n != 1 {
		t.Errorf("failed count %v, want 1", n)
	}
}

func TestWithoutADeadLetterTopicAFailedConversionIsOnlyCounted(t *testing.T) {
	r := newConvRig(t, []string{"ADT^A40"}, "")
	code, out := r.submit(t, unconvertible("BAD2"))
	if code != "AA" || len(out.Deliveries) != 1 {
		t.Fatalf("ACK %s, deliveries %+v: want AA and the raw record alone", code, out.Deliveries)
	}
	if c := counts(r.committed(t, "hl7.adt.a40", "fhir.dlq")); c["hl7.adt.a40"] != 1 || c["fhir.dlq"] != 0 {
		t.Fatalf("records %v", c)
	}
	if n := testutil.ToFloat64(r.conv.Metric().WithLabelValues("ADT^A40", "failed")); n != 1 {
		t.Errorf("failed count %v, want 1", n)
	}
}

// A resource the broker will not take fails the whole transaction: the
// sender gets AR (resend), and a read_committed consumer sees neither the
// raw record nor any resource. The resend, once the broker is back, is
// stored whole, once.
func TestAFailedTransactionIsAnsweredARAndLeavesNothingVisible(t *testing.T) {
	r := newConvRig(t, []string{"ADT^A01"}, "fhir.dlq")
	raw := adtMessage("A01", "TX1", "19700101")
	if code, _ := r.submit(t, adtMessage("A01", "WARM", "19700101")); code != "AA" {
		t.Fatalf("warm-up ACK %s", code)
	}
	fault := r.cluster.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "fhir.encounter.created", Err: kerr.NotEnoughReplicas, Count: -1})
	code, out := r.submit(t, raw)
	if code != "AR" || out.Status != pipeline.Unavailable {
		t.Fatalf("ACK %s, outcome %v: want AR, not stored", code, out.Status)
	}
	if n := testutil.ToFloat64(r.conv.Metric().WithLabelValues("ADT^A01", "converted")); n != 1 {
		t.Errorf("converted count %v, want 1 (the warm-up): a message not stored is not counted", n)
	}
	fault.Remove()
	if code, _ := r.submit(t, raw); code != "AA" {
		t.Fatalf("resend ACK %s", code)
	}
	got := r.committed(t, "hl7.adt.a01", "fhir.patient.created", "fhir.encounter.created")
	for tp, recs := range got {
		n := 0
		for _, rec := range recs {
			if strings.Contains(string(rec.Value), "TX1") || header(rec, "hl7.control_id") == "TX1" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s holds %d records of TX1, want exactly the resend's", tp, n)
		}
	}
}

func TestEachMessageOfABatchIsConvertedInItsOwnTransaction(t *testing.T) {
	r := newConvRig(t, []string{"ADT^A01", "ADT^A40"}, "fhir.dlq")
	batch := "FHS|^~\\&|ADMIT|NORTH WARD|RCV|RFAC|20240101||||F1\rBHS|^~\\&|ADMIT|NORTH WARD|RCV|RFAC|20240101||||B1\r" +
		string(adtMessage("A01", "B1M1", "19700101")) + string(unconvertible("B1M2")) + "BTS|2\rFTS|1\r"
	ack, _ := r.door.SubmitHL7(context.Background(), []byte(batch))
	if n := strings.Count(string(ack), "MSA|AA|"); n != 2 {
		t.Fatalf("batch answer %q: want both messages AA", ack)
	}
	got := r.committed(t, "hl7.adt.a01", "hl7.adt.a40", "fhir.patient.created", "fhir.encounter.created", "fhir.dlq")
	if c := counts(got); c["hl7.adt.a01"] != 1 || c["hl7.adt.a40"] != 1 || c["fhir.patient.created"] != 1 || c["fhir.encounter.created"] != 1 || c["fhir.dlq"] != 1 {
		t.Fatalf("records %v: want two raw records, the first's Patient and Encounter, the second's dead letter", c)
	}
	if id := header(got["fhir.patient.created"][0], "hl7.control_id"); id != "B1M1" {
		t.Errorf("the Patient comes from %q, want B1M1", id)
	}
	if id := header(got["fhir.dlq"][0], "hl7.control_id"); id != "B1M2" {
		t.Errorf("the dead letter comes from %q, want B1M2", id)
	}
}

func counts(got map[string][]*kgo.Record) map[string]int {
	c := map[string]int{}
	for tp, recs := range got {
		c[tp] = len(recs)
	}
	return c
}
