package router

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/validation"
)

// convertedRecordAlone is how ConvertedRecord built a record before the
// records of one message shared their headers: all of one record's
// values in one buffer of its own. ConvertedRecords must build the same
// bytes.
func convertedRecordAlone(body []byte, prefix, connector, sourceID string, m ConvertedMeta, now time.Time) (*kgo.Record, error) {
	fm := FHIRMeta{ResourceType: m.ResourceType, ID: m.ID, Action: m.Action}
	topic, err := FHIRTopic(prefix, fm)
	if err != nil {
		return nil, err
	}
	ceType := topic[len(prefix):]
	u := m.Source.decoded()
	hb := newHeaderBuf(384 + len(m.SourceTopic) + len(m.Key) + 24*min(len(m.Warnings), maxWarningPositions))
	hb.add("ce_specversion", "1.0")
	hb.begin("ce_id")
	hb.buf = append(hb.buf, sourceID...)
	hb.buf = append(hb.buf, '/')
	hb.buf = append(hb.buf, m.ResourceType...)
	hb.buf = append(hb.buf, '/')
	hb.buf = append(hb.buf, m.ID...)
	hb.end()
	hb.begin("ce_source")
	hb.buf = appendSource(hb.buf, connector, u.SendingFacility, u.SendingApp)
	hb.end()
	hb.add("ce_type", ceType)
	hb.begin("ce_time")
	hb.buf = now.UTC().AppendFormat(hb.buf, time.RFC3339Nano)
	hb.end()
	hb.add("content-type", ContentTypeFHIR)
	hb.add("fhir.resource_type", m.ResourceType)
	hb.add("fhir.id", m.ID)
	hb.add("fhir.action", m.Action)
	hb.add("fhir.version", FHIRVersion)
	u.appendSourceHeaders(hb, m.SourceTopic)
	if len(m.Warnings) > 0 {
		hb.begin(HL7ConvertWarningsHeader)
		hb.buf = appendWarnings(hb.buf, m.Warnings)
		hb.end()
	}
	h := hb.headers()
	hb.buf = append(hb.buf, m.Key...)
	return &kgo.Record{Topic: topic, Key: hb.tail(), Value: body, Headers: h}, nil
}

func sameRecord(t *testing.T, name string, got, want *kgo.Record) {
	t.Helper()
	if got.Topic != want.Topic || !bytes.Equal(got.Value, want.Value) || !bytes.Equal(got.Key, want.Key) || (got.Key == nil) != (want.Key == nil) {
		t.Errorf("%s: topic %q key %q value %q, want %q %q %q", name, got.Topic, got.Key, got.Value, want.Topic, want.Key, want.Value)
	}
	if len(got.Headers) != len(want.Headers) {
		t.Fatalf("%s: %d headers, want %d", name, len(got.Headers), len(want.Headers))
	}
	for i := range want.Headers {
		if got.Headers[i].Key != want.Headers[i].Key || !bytes.Equal(got.Headers[i].Value, want.Headers[i].Value) {
			t.Errorf("%s: header %d %s=%q, want %s=%q", name, i, got.Headers[i].Key, got.Headers[i].Value,
				want.Headers[i].Key, want.Headers[i].Value)
		}
	}
}

func TestTheRecordsOfOneMessageAreByteForByteThoseBuiltOneAtATime(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 3600))
	warn := validation.Findings{{Code: 102, Location: "PID-7"}, {Code: 103, Location: "PV1-44"}}
	noApp := latin1Source
	noApp.SendingApp = ""
	tests := []struct {
		name   string
		prefix string
		src    ConvertedSource
		n      int // the builder's estimate
	}{
		{"a Latin-1 source with a prefix", "p.", ConvertedSource{Source: latin1Source, SourceTopic: "p.hl7.adt.a01"}, 6},
		{"warnings and no prefix", "", ConvertedSource{Source: latin1Source, SourceTopic: "hl7.adt.a01", Warnings: warn}, 6},
		{"an empty sending application and an estimate too small", "x.", ConvertedSource{Source: noApp, SourceTopic: "x.hl7.oru.r01"}, 1},
	}
	resources := []ConvertedResource{
		{Body: []byte(`{"resourceType":"Patient"}`), ResourceType: "Patient", ID: "p1", Action: "update", Key: "Patient/p1"},
		{Body: []byte(`{"resourceType":"Encounter"}`), ResourceType: "Encounter", ID: "e1", Action: "create", Key: "Patient/p1"},
		{Body: []byte(`{}`), ResourceType: "Observation", ID: "", Action: "delete", Key: ""},
		{Body: []byte(`{"resourceType":"Provenance"}`), ResourceType: "Provenance", ID: "pv", Action: "create", Key: "Provenance/pv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set := NewConvertedRecords(tc.prefix, "mllp conn", "C1", tc.src, now, tc.n)
			var got []*kgo.Record
			for _, r := range resources {
				rec, err := set.Add(r)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, rec)
			}
			// Every record is checked after all were built: a later one must
			// not have overwritten an earlier one's bytes.
			for i, r := range resources {
				want, err := convertedRecordAlone(r.Body, tc.prefix, "mllp conn", "C1", ConvertedMeta{
					ResourceType: r.ResourceType, ID: r.ID, Action: r.Action, Key: r.Key,
					Source: tc.src.Source, SourceTopic: tc.src.SourceTopic, Warnings: tc.src.Warnings,
				}, now)
				if err != nil {
					t.Fatal(err)
				}
				sameRecord(t, fmt.Sprintf("record %d", i), got[i], want)
			}
		})
	}
}

func TestAppendingToOneRecordsHeadersLeavesTheOthersAlone(t *testing.T) {
	set := NewConvertedRecords("", "mllp", "C1", ConvertedSource{Source: latin1Source, SourceTopic: "hl7.adt.a01"}, time.Unix(0, 0), 2)
	a, err := set.Add(ConvertedResource{ResourceType: "Patient", ID: "p1", Action: "create", Key: "Patient/p1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := set.Add(ConvertedResource{ResourceType: "Encounter", ID: "e1", Action: "create", Key: "Patient/p1"})
	if err != nil {
		t.Fatal(err)
	}
	first := b.Headers[0]
	a.Headers = append(a.Headers, kgo.RecordHeader{Key: "traceparent", Value: []byte("00-x")})
	a.Key = append(a.Key, 'X')
	if b.Headers[0].Key != first.Key || string(b.Headers[0].Value) != string(first.Value) || string(b.Key) != "Patient/p1" {
		t.Errorf("the second record changed: header %s=%q key %q", b.Headers[0].Key, b.Headers[0].Value, b.Key)
	}
}

func TestAResourceWithoutATopicIsRefusedAndTheOthersStillBuilt(t *testing.T) {
	set := NewConvertedRecords("", "mllp", "C1", ConvertedSource{Source: latin1Source}, time.Unix(0, 0), 2)
	if _, err := set.Add(ConvertedResource{ResourceType: "Patient", ID: "p1", Action: "merge"}); err == nil {
		t.Fatal("a resource with action merge was given a record")
	}
	rec, err := set.Add(ConvertedResource{ResourceType: "Patient", ID: "p1", Action: "create", Key: "Patient/p1"})
	if err != nil || rec.Topic != "fhir.patient.created" {
		t.Fatalf("record %v, err %v", rec, err)
	}
}

func BenchmarkConvertedRecordsOfOneMessage(b *testing.B) {
	src := ConvertedSource{Source: latin1Source, SourceTopic: "hl7.adt.a01"}
	now := time.Unix(1700000000, 0)
	types := []string{"Patient", "Encounter", "Observation", "Observation", "Observation", "Provenance", "Practitioner", "Organization"}
	b.ReportAllocs()
	for b.Loop() {
		set := NewConvertedRecords("", "mllp", "C1", src, now, len(types))
		for _, ty := range types {
			if _, err := set.Add(ConvertedResource{ResourceType: ty, ID: "id1", Action: "update", Key: "Patient/p1"}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkConvertedRecordOneAtATime(b *testing.B) {
	now := time.Unix(1700000000, 0)
	types := []string{"Patient", "Encounter", "Observation", "Observation", "Observation", "Provenance", "Practitioner", "Organization"}
	b.ReportAllocs()
	for b.Loop() {
		for _, ty := range types {
			if _, err := convertedRecordAlone(nil, "", "mllp", "C1", ConvertedMeta{ResourceType: ty, ID: "id1", Action: "update",
				Key: "Patient/p1", Source: latin1Source, SourceTopic: "hl7.adt.a01"}, now); err != nil {
				b.Fatal(err)
			}
		}
	}
}
