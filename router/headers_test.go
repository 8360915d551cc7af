package router

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/validation"
)

// referenceHL7Record is HL7Record as it was written before its headers
// shared one buffer: a string per value, each converted to its own []byte.
func referenceHL7Record(raw []byte, prefix, connector string, m HL7Meta, warnings validation.Findings, now time.Time) (*kgo.Record, error) {
	topic, err := HL7Topic(prefix, m)
	if err != nil {
		return nil, err
	}
	ceType, _ := Topic("", "MSH-9", "hl7", m.MessageType, m.TriggerEvent)
	u := m.decoded()
	var h []kgo.RecordHeader
	add := func(k, v string) {
		if v != "" {
			h = append(h, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
	}
	add("ce_specversion", "1.0")
	add("ce_id", HL7EventID(u.ControlID, raw))
	add("ce_source", HL7Source(connector, u.SendingFacility, u.SendingApp))
	add("ce_type", ceType)
	add("ce_time", now.UTC().Format(time.RFC3339Nano))
	add("content-type", ContentTypeHL7)
	add("hl7.message_type", u.MessageType)
	add("hl7.trigger_event", u.TriggerEvent)
	add("hl7.version", u.Version)
	add("hl7.control_id", u.ControlID)
	add("hl7.sending_application", u.SendingApp)
	add("hl7.sending_facility", u.SendingFacility)
	add("hl7.charset", m.Charset)
	if len(warnings) > 0 {
		var b strings.Builder
		b.WriteString(strconv.Itoa(len(warnings)) + ":")
		for i, f := range warnings {
			if i == maxWarningPositions {
				b.WriteString(",...")
				break
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(int(f.Code)) + "@" + f.Location)
		}
		add("hl7.warnings", b.String())
	}
	return &kgo.Record{Topic: topic, Key: []byte(UTF8(HL7Key(m), m.Charset)), Value: raw, Headers: h}, nil
}

// TestHL7RecordIsTheReferenceRecord: building every header value and the
// key in one buffer changes no byte of the record: ASCII and Latin-1
// metadata, missing fields, a prefix, no warnings, a few and more than the
// header lists.
func TestHL7RecordIsTheReferenceRecord(t *testing.T) {
	metas := []HL7Meta{
		{MessageType: "ADT", TriggerEvent: "A01", Version: "2.5", ControlID: "MSG1", SendingApp: "APP", SendingFacility: "FAC", Charset: "US-ASCII", PatientID: "123", PatientAuthority: "HOSP&1.2.3&ISO"},
		{MessageType: "ORU", TriggerEvent: "R01", Version: "2.3", ControlID: "X", PatientID: "9"},
		{MessageType: "ACK"},
		{MessageType: "ADT", TriggerEvent: "A08", ControlID: "ID\xe91", SendingApp: "L\xc4B", SendingFacility: "H\xd6S P/T", Charset: "ISO-8859-1", PatientID: "\xc5123", PatientAuthority: "H\xd6S"},
		{MessageType: "ADT", TriggerEvent: "A04", Charset: "UTF-8", PatientID: "", PatientAuthority: "A"},
	}
	var many validation.Findings
	for i := 0; i < 70; i++ {
		many = append(many, validation.Finding{Severity: validation.SeverityWarning, Code: validation.CodeTableValue, Location: "PID-" + strconv.Itoa(i)})
	}
	warnings := []validation.Findings{nil, many[:2], many}
	now := time.Date(2026, 12, 2, 13, 4, 5, 123456789, time.FixedZone("X", 3600))
	for _, prefix := range []string{"", "prod."} {
		for mi, m := range metas {
			for wi, w := range warnings {
				raw := []byte("MSH|^~\\&|raw " + strconv.Itoa(mi))
				got, err1 := HL7Record(raw, prefix, "hl7 mllp", m, w, now)
				want, err2 := referenceHL7Record(raw, prefix, "hl7 mllp", m, w, now)
				if (err1 == nil) != (err2 == nil) {
					t.Fatalf("meta %d: errors %v and %v", mi, err1, err2)
				}
				if err1 != nil {
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("prefix %q meta %d warnings %d:\n got %+v\nwant %+v", prefix, mi, wi, got, want)
				}
			}
		}
	}
}
