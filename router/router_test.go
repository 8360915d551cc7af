package router

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/validation"
)

func TestTopic(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		parts  []string
		want   string
		errs   bool
	}{
		{"a message type and event become a lower-case dotted topic", "", []string{"hl7", "ADT", "A01"}, "hl7.adt.a01", false},
		{"a missing trigger event is left out", "", []string{"hl7", "ACK", ""}, "hl7.ack", false},
		{"the prefix is prepended verbatim", "prod.", []string{"hl7", "ORU", "R01"}, "prod.hl7.oru.r01", false},
		{"underscores and dashes are kept", "", []string{"fhir", "Some_Type-x", "created"}, "fhir.some_type-x.created", false},
		{"a space cannot be part of a topic", "", []string{"hl7", "AD T", "A01"}, "", true},
		{"a slash cannot be part of a topic", "", []string{"hl7", "ADT/", "A01"}, "", true},
		{"a non-ASCII byte cannot be part of a topic", "", []string{"hl7", "ÄDT", "A01"}, "", true},
		{"a name longer than Kafka allows is refused", "", []string{"hl7", strings.Repeat("A", 300)}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Topic(tt.prefix, "MSH-9", tt.parts...)
			if (err != nil) != tt.errs {
				t.Fatalf("Topic() error = %v, want error %v", err, tt.errs)
			}
			if got != tt.want {
				t.Fatalf("Topic() = %q, want %q", got, tt.want)
			}
			var ve *validation.Error
			if err != nil && !errors.As(err, &ve) {
				t.Fatalf("error %v is not a *validation.Error", err)
			}
		})
	}
}

func TestHL7Key(t *testing.T) {
	tests := []struct {
		name string
		meta HL7Meta
		want string
	}{
		{"the patient id and its authority make the key", HL7Meta{PatientID: "12345", PatientAuthority: "HOSP", ControlID: "C1"}, "12345^^^HOSP"},
		{"an authority with subcomponents is kept as written", HL7Meta{PatientID: "1", PatientAuthority: "H&1.2.3&ISO", ControlID: "C1"}, "1^^^H&1.2.3&ISO"},
		{"a patient id without authority is the key alone", HL7Meta{PatientID: "12345", ControlID: "C1"}, "12345"},
		{"without a patient the control id is the key", HL7Meta{ControlID: "C1"}, "C1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HL7Key(tt.meta); got != tt.want {
				t.Fatalf("HL7Key() = %q, want %q", got, tt.want)
			}
		})
	}
}

func headers(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

func TestHL7RecordCarriesTheContractHeadersAndTheBytesUnchanged(t *testing.T) {
	raw := []byte("MSH|^~\\&|APP|FAC|RAPP|RFAC|20240101||ADT^A01^ADT_A01|MSG1|P|2.5.1\rPID|1||123^^^H||DOE^JOHN\r")
	meta := HL7Meta{MessageType: "ADT", TriggerEvent: "A01", Version: "2.5.1", ControlID: "MSG1", SendingApp: "APP", SendingFacility: "FAC", Charset: "UTF-8", PatientID: "123", PatientAuthority: "H"}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	warn := validation.Findings{{Severity: validation.SeverityWarning, Code: 102, Location: "PID-7"}}
	rec, err := HL7Record(raw, "prod.", "hl7-mllp", meta, warn, now)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Topic != "prod.hl7.adt.a01" || string(rec.Key) != "123^^^H" || string(rec.Value) != string(raw) {
		t.Fatalf("record = %s %s %q", rec.Topic, rec.Key, rec.Value)
	}
	if &rec.Value[0] != &raw[0] {
		t.Fatal("value was copied; it must be the received bytes")
	}
	want := map[string]string{
		"ce_specversion": "1.0", "ce_id": "MSG1", "ce_source": "/gateway/hl7-mllp/FAC/APP", "ce_type": "hl7.adt.a01",
		"ce_time": "2026-11-23T10:00:00Z", "content-type": "application/hl7-v2", "hl7.message_type": "ADT",
		"hl7.trigger_event": "A01", "hl7.version": "2.5.1", "hl7.control_id": "MSG1", "hl7.sending_application": "APP",
		"hl7.sending_facility": "FAC", "hl7.charset": "UTF-8", "hl7.warnings": "1:102@PID-7",
	}
	got := headers(rec)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("headers = %v, want exactly %v", got, want)
	}
}

func TestWarningsHeaderIsBounded(t *testing.T) {
	var fs validation.Findings
	for i := 0; i < 200; i++ {
		fs = append(fs, validation.Finding{Code: 102, Location: "OBX-5"})
	}
	h := WarningsHeader(fs)
	if !strings.HasPrefix(h, "200:") || strings.Count(h, "@") != maxWarningPositions || !strings.HasSuffix(h, ",...") {
		t.Fatalf("header = %q", h)
	}
}

func TestDeadLetterKeepsBytesAndNamesTheFailure(t *testing.T) {
	raw := []byte("garbage \x00\xff bytes")
	fs := validation.Findings{
		{Severity: validation.SeverityWarning, Code: 104, Location: "PID-5"},
		{Severity: validation.SeverityError, Code: 101, Location: "PID-3", Message: "required field missing"},
	}
	rec := DeadLetter(raw, DLQInfo{Topic: "hl7.dlq", Connector: "mllp", Stage: "VALIDATE", Findings: fs, ContentType: ContentTypeHL7, ContextHeaders: true})
	if rec.Topic != "hl7.dlq" || string(rec.Value) != string(raw) {
		t.Fatalf("record = %s %q", rec.Topic, rec.Value)
	}
	got := headers(rec)
	want := map[string]string{
		"content-type":                       "application/hl7-v2",
		"__connect.errors.connector.name":    "mllp",
		"__connect.errors.stage":             "VALIDATE",
		"__connect.errors.class.name":        "hl7gw.ValidationError.required_missing",
		"__connect.errors.exception.message": "error 101 at PID-3: required field missing",
		"__connect.errors.location":          "PID-3",
		"__connect.errors.code":              "101",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	plain := DeadLetter(raw, DLQInfo{Topic: "hl7.dlq", Stage: "PARSE", Findings: fs, ContentType: ContentTypeHL7})
	if len(plain.Headers) != 1 {
		t.Fatalf("without context headers only content-type is expected, got %v", headers(plain))
	}
}

func TestValidTopicName(t *testing.T) {
	for name, want := range map[string]bool{"hl7.dlq": true, "a-b_c.d": true, "": false, ".": false, "..": false, "a b": false, strings.Repeat("x", 250): false} {
		if got := ValidTopicName(name); got != want {
			t.Errorf("ValidTopicName(%q) = %v, want %v", name, got, want)
		}
	}
}
