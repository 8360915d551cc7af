package router

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/text/encoding/ianaindex"

	"github.com/hl7gw/gateway/validation"
)

// ContentTypeHL7 is the content-type header value of HL7 v2 records.
const ContentTypeHL7 = "application/hl7-v2"

// HL7Meta is what routing needs from an HL7 v2 message: MSH and PID fields,
// already unescaped but still in the message's charset (Charset). The HL7
// step extracts it; the router never parses.
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

// HL7Record builds the record for one HL7 v2 message under the CloudEvents
// Kafka binding (binary mode). raw is the value, byte for byte; connector
// names the connector; now is the receipt time (ce_time). Header values
// and the key are UTF-8, decoded from m.Charset (see UTF8). ce_source is
// HL7Source and ce_id the control id (HL7EventID), so that
// (ce_source, ce_id) is unique per message: HL7 control ids are unique per
// sending application and facility. It fails only when the message type
// cannot make a topic name.
func HL7Record(raw []byte, prefix, connector string, m HL7Meta, warnings validation.Findings, now time.Time) (*kgo.Record, error) {
	topic, err := HL7Topic(prefix, m)
	if err != nil {
		return nil, err
	}
	ceType := topic[len(prefix):] // the topic is the prefix and then ce_type
	u := m.decoded()
	hb := newHeaderBuf(256 + len(raw)/512 + 24*min(len(warnings), maxWarningPositions))
	hb.add("ce_specversion", "1.0")
	hb.add("ce_id", HL7EventID(u.ControlID, raw))
	hb.begin("ce_source")
	hb.buf = appendSource(hb.buf, connector, u.SendingFacility, u.SendingApp)
	hb.end()
	hb.add("ce_type", ceType)
	hb.begin("ce_time")
	hb.buf = now.UTC().AppendFormat(hb.buf, time.RFC3339Nano)
	hb.end()
	hb.add("content-type", ContentTypeHL7)
	hb.add("hl7.message_type", u.MessageType)
	hb.add("hl7.trigger_event", u.TriggerEvent)
	hb.add("hl7.version", u.Version)
	hb.add("hl7.control_id", u.ControlID)
	hb.add("hl7.sending_application", u.SendingApp)
	hb.add("hl7.sending_facility", u.SendingFacility)
	hb.add("hl7.charset", m.Charset)
	if len(warnings) > 0 {
		hb.begin("hl7.warnings")
		hb.buf = appendWarnings(hb.buf, warnings)
		hb.end()
	}
	h := hb.headers()
	hb.buf = appendKey(hb.buf, m)
	return &kgo.Record{Topic: topic, Key: hb.tail(), Value: raw, Headers: h}, nil
}

// appendKey appends the record key, UTF8(HL7Key(m), m.Charset), without
// building the key string when its parts are ASCII (decoding then changes
// nothing).
func appendKey(b []byte, m HL7Meta) []byte {
	if !isASCII(m.PatientID) || !isASCII(m.PatientAuthority) || !isASCII(m.ControlID) {
		return append(b, UTF8(HL7Key(m), m.Charset)...)
	}
	switch {
	case m.PatientID != "" && m.PatientAuthority != "":
		b = append(b, m.PatientID...)
		b = append(b, "^^^"...)
		return append(b, m.PatientAuthority...)
	case m.PatientID != "":
		return append(b, m.PatientID...)
	default:
		return append(b, m.ControlID...)
	}
}

// HL7Source is ce_source: /gateway/<connector>/<facility>/<application>,
// the sending facility (MSH-4.1) and application (MSH-3.1) each
// percent-encoded as one URI path segment (a '/' in them included), so
// that two senders never share a source. Either may be empty.
func HL7Source(connector, facility, app string) string {
	return "/gateway/" + url.PathEscape(connector) + "/" + url.PathEscape(facility) + "/" + url.PathEscape(app)
}

// HL7EventID is ce_id: the control id (MSH-10), or, for a message without
// one, "sha256:" and the first 16 bytes of the SHA-256 of its bytes in hex
// (a resend of the same bytes keeps its id, as CloudEvents allows).
func HL7EventID(controlID string, raw []byte) string {
	if controlID != "" {
		return controlID
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// decoded returns m with every text field decoded from m.Charset to UTF-8.
func (m HL7Meta) decoded() HL7Meta {
	for _, f := range []*string{&m.MessageType, &m.TriggerEvent, &m.Version, &m.ControlID,
		&m.SendingApp, &m.SendingFacility, &m.PatientID, &m.PatientAuthority} {
		*f = UTF8(*f, m.Charset)
	}
	return m
}

// UTF8 decodes s, text of an HL7 message, from charset (an IANA name as
// the HL7 validator reports it: "ISO-8859-1", "windows-1252", "UTF-8",
// "Shift_JIS", ...) to valid UTF-8. ASCII is returned as it is. Bytes that
// the charset cannot decode, or any non-UTF-8 byte when the charset is
// empty, unknown or UTF-8, become U+FFFD: a header value is always UTF-8,
// as the CloudEvents Kafka binding requires, while the record's value
// keeps the original bytes.
func UTF8(s, charset string) string {
	if isASCII(s) {
		return s
	}
	switch strings.ToUpper(charset) {
	case "", "UTF-8", "US-ASCII":
		return strings.ToValidUTF8(s, string(utf8.RuneError))
	}
	enc, err := ianaindex.IANA.Encoding(charset)
	if err != nil || enc == nil {
		return strings.ToValidUTF8(s, string(utf8.RuneError))
	}
	out, err := enc.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, string(utf8.RuneError))
	}
	return strings.ToValidUTF8(out, string(utf8.RuneError))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// maxWarningPositions bounds the hl7.warnings header.
const maxWarningPositions = 50

// WarningsHeader renders findings as "N:code@location,code@location,...":
// the count, then at most 50 positions. It never includes values.
func WarningsHeader(fs validation.Findings) string {
	return string(appendWarnings(make([]byte, 0, 8+24*min(len(fs), maxWarningPositions)), fs))
}

// appendHeader adds a header, leaving out empty values.
func appendHeader(h []kgo.RecordHeader, k, v string) []kgo.RecordHeader {
	if v == "" {
		return h
	}
	return append(h, kgo.RecordHeader{Key: k, Value: []byte(v)})
}
