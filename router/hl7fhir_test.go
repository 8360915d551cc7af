package router

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/validation"
)

func headerMap(h []kgo.RecordHeader) map[string]string {
	m := make(map[string]string, len(h))
	for _, x := range h {
		if _, dup := m[x.Key]; dup {
			m[x.Key] = "DUPLICATE"
			continue
		}
		m[x.Key] = string(x.Value)
	}
	return m
}

// latin1Source is an HL7 message from a facility whose name is Latin-1.
var latin1Source = HL7Meta{MessageType: "ADT", TriggerEvent: "A01", Version: "2.5", ControlID: "C1",
	SendingApp: "ADT", SendingFacility: "SANKT J\xdcRGEN", Charset: "ISO-8859-1", PatientID: "4711", PatientAuthority: "H"}

func TestAConvertedRecordIsAFHIRRecordLinkedToItsHL7Source(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	rec, err := ConvertedRecord([]byte(`{"resourceType":"Encounter"}`), "p.", "mllp", "C1", ConvertedMeta{
		ResourceType: "Encounter", ID: "e1", Action: "update", Key: "Patient/p1",
		Source: latin1Source, SourceTopic: "p.hl7.adt.a01",
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Topic != "p.fhir.encounter.updated" || string(rec.Key) != "Patient/p1" || string(rec.Value) != `{"resourceType":"Encounter"}` {
		t.Fatalf("topic %q key %q value %q", rec.Topic, rec.Key, rec.Value)
	}
	want := map[string]string{
		"ce_specversion": "1.0", "ce_id": "C1/Encounter/e1", "ce_source": "/gateway/mllp/SANKT%20J%C3%9CRGEN/ADT",
		"ce_type": "fhir.encounter.updated", "ce_time": "2024-05-06T07:08:09Z", "content-type": ContentTypeFHIR,
		"fhir.resource_type": "Encounter", "fhir.id": "e1", "fhir.action": "update", "fhir.version": "R4",
		"hl7.message_type": "ADT", "hl7.trigger_event": "A01", "hl7.control_id": "C1",
		"hl7.sending_application": "ADT", "hl7.sending_facility": "SANKT JÜRGEN", HL7SourceTopicHeader: "p.hl7.adt.a01",
	}
	got := headerMap(rec.Headers)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("headers %v, want exactly %v", got, want)
	}
}

func TestAConvertedRecordSaysWhatItsConversionLeftOut(t *testing.T) {
	rec, err := ConvertedRecord([]byte(`{}`), "", "mllp", "C1", ConvertedMeta{
		ResourceType: "Patient", ID: "p1", Action: "create", Key: "Patient/p1", Source: latin1Source, SourceTopic: "hl7.adt.a01",
		Warnings: validation.Findings{{Severity: validation.SeverityWarning, Code: validation.CodeDataType, Location: "PID-7", Message: "not a date"}},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := headerMap(rec.Headers)
	if got := h[HL7ConvertWarningsHeader]; got != "1:102@PID-7" {
		t.Fatalf("%s = %q, want 1:102@PID-7", HL7ConvertWarningsHeader, got)
	}
	if h[HL7SourceTopicHeader] != "hl7.adt.a01" || h["fhir.version"] != "R4" {
		t.Errorf("headers %v: the warnings crowded out others", h)
	}
}

func TestAConvertedRecordNeedsATopic(t *testing.T) {
	for _, m := range []ConvertedMeta{
		{ResourceType: "Patient", ID: "1", Action: "merge"},
		{ResourceType: "", ID: "1", Action: "create"},
		{ResourceType: "Pa tient", ID: "1", Action: "create"},
	} {
		if _, err := ConvertedRecord(nil, "", "c", "C1", m, time.Now()); err == nil {
			t.Errorf("%+v: no error", m)
		}
	}
}

func TestAConversionDeadLetterNamesStageLocationAndSource(t *testing.T) {
	raw := []byte("MSH|...")
	rec := ConversionDeadLetter(raw, DLQInfo{
		Topic: "fhir.dlq", Connector: "mllp", ContentType: ContentTypeHL7, ContextHeaders: true, Key: []byte("4711^^^H"),
		Findings: validation.Findings{{Severity: validation.SeverityError, Code: validation.CodeRequiredMissing, Location: "MRG", Message: "no MRG segment"}},
	}, latin1Source, "hl7.adt.a40")
	if rec.Topic != "fhir.dlq" || string(rec.Value) != string(raw) || string(rec.Key) != "4711^^^H" {
		t.Fatalf("topic %q key %q value %q", rec.Topic, rec.Key, rec.Value)
	}
	got := headerMap(rec.Headers)
	for k, v := range map[string]string{
		"__connect.errors.stage": "CONVERT", "__connect.errors.location": "MRG", "__connect.errors.code": "101",
		"__connect.errors.class.name": "hl7gw.ConversionError.required_missing", "content-type": ContentTypeHL7,
		"hl7.control_id": "C1", "hl7.sending_facility": "SANKT JÜRGEN", HL7SourceTopicHeader: "hl7.adt.a40",
	} {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	if !strings.Contains(got["__connect.errors.exception.message"], "MRG") {
		t.Errorf("exception message %q does not name the location", got["__connect.errors.exception.message"])
	}
	off := ConversionDeadLetter(raw, DLQInfo{Topic: "fhir.dlq", ContentType: ContentTypeHL7}, latin1Source, "hl7.adt.a40")
	if h := headerMap(off.Headers); h["__connect.errors.stage"] != "" || h[HL7SourceTopicHeader] != "hl7.adt.a40" {
		t.Errorf("without context headers: %v, want the source headers alone", h)
	}
}
