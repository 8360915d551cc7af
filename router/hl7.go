package router

import (
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/validation"
)

// ContentTypeHL7 is the content-type header value of HL7 v2 records.
const ContentTypeHL7 = "application/hl7-v2"

// HL7Meta is what routing needs from an HL7 v2 message: MSH and PID fields,
// already unescaped. The HL7 step extracts it; the router never parses.
type HL7Meta struct {
	MessageType     string // MSH-9.1, e.g. "ADT"
	TriggerEvent    string // MSH-9.2, e.g. "A01"
	Version         string // MSH-12.1
	ControlID       string // MSH-10
	SendingApp      string // MSH-3.1
	SendingFacility string // MSH-4.1
	Charset         string // the charset used to read the message (MSH-18 or the fallback)
	// PatientID and PatientAuthority are PID-3 first repetition, CX.1 and
	// CX.4 as they appear in the message (CX.4 may hold subcomponents).
	PatientID        string
	PatientAuthority string
}

// HL7Topic is hl7.<MSH-9.1>.<MSH-9.2> lower-cased, or hl7.<MSH-9.1> without
// a trigger event, after prefix.
func HL7Topic(prefix string, m HL7Meta) (string, error) {
	return Topic(prefix, "MSH-9", "hl7", m.MessageType, m.TriggerEvent)
}

// HL7Key is the partition key: "ID^^^authority" from PID-3's first
// repetition so that one patient's events stay in order, else "ID" alone,
// else MSH-10.
func HL7Key(m HL7Meta) string {
	switch {
	case m.PatientID != "" && m.PatientAuthority != "":
		return m.PatientID + "^^^" + m.PatientAuthority
	case m.PatientID != "":
		return m.PatientID
	default:
		return m.ControlID
	}
}

// HL7Record builds the record for one HL7 v2 message. raw is the value,
// byte for byte; source names the connector (ce_source); now is the receipt
// time (ce_time). It fails only when the message type cannot make a topic
// name.
func HL7Record(raw []byte, prefix, source string, m HL7Meta, warnings validation.Findings, now time.Time) (*kgo.Record, error) {
	topic, err := HL7Topic(prefix, m)
	if err != nil {
		return nil, err
	}
	ceType, _ := Topic("", "MSH-9", "hl7", m.MessageType, m.TriggerEvent)
	ceID := m.ControlID
	if m.SendingFacility != "" {
		ceID = m.SendingFacility + "/" + m.ControlID
	}
	h := make([]kgo.RecordHeader, 0, 16)
	h = appendHeader(h, "ce_specversion", "1.0")
	h = appendHeader(h, "ce_id", ceID)
	h = appendHeader(h, "ce_source", "/gateway/"+source)
	h = appendHeader(h, "ce_type", ceType)
	h = appendHeader(h, "ce_time", now.UTC().Format(time.RFC3339Nano))
	h = appendHeader(h, "content-type", ContentTypeHL7)
	h = appendHeader(h, "hl7.message_type", m.MessageType)
	h = appendHeader(h, "hl7.trigger_event", m.TriggerEvent)
	h = appendHeader(h, "hl7.version", m.Version)
	h = appendHeader(h, "hl7.control_id", m.ControlID)
	h = appendHeader(h, "hl7.sending_application", m.SendingApp)
	h = appendHeader(h, "hl7.sending_facility", m.SendingFacility)
	h = appendHeader(h, "hl7.charset", m.Charset)
	if len(warnings) > 0 {
		h = appendHeader(h, "hl7.warnings", WarningsHeader(warnings))
	}
	return &kgo.Record{Topic: topic, Key: []byte(HL7Key(m)), Value: raw, Headers: h}, nil
}

// maxWarningPositions bounds the hl7.warnings header.
const maxWarningPositions = 50

// WarningsHeader renders findings as "N:code@location,code@location,...":
// the count, then at most 50 positions. It never includes values.
func WarningsHeader(fs validation.Findings) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(fs)))
	b.WriteByte(':')
	for i, f := range fs {
		if i == maxWarningPositions {
			b.WriteString(",...")
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(f.Code)))
		b.WriteByte('@')
		b.WriteString(f.Location)
	}
	return b.String()
}

// appendHeader adds a header, leaving out empty values.
func appendHeader(h []kgo.RecordHeader, k, v string) []kgo.RecordHeader {
	if v == "" {
		return h
	}
	return append(h, kgo.RecordHeader{Key: k, Value: []byte(v)})
}
