package router

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/validation"
)

// StageConvert is the __connect.errors.stage of a message that was stored
// but could not be converted from HL7 v2 to FHIR.
const StageConvert = "CONVERT"

// HL7SourceTopicHeader names, on a record made from an HL7 v2 message
// (a FHIR resource converted from it, or its conversion failure), the
// topic of the message's raw record, written in the same transaction.
const HL7SourceTopicHeader = "hl7.source.topic"

// ConvertedMeta is what routing needs for one FHIR resource converted from
// an HL7 v2 message (package hl7/v2fhir makes the resource).
type ConvertedMeta struct {
	ResourceType string // "Patient"
	ID           string // the converted resource's id
	// Action is "create", "update" or "delete": the topic
	// fhir.<type>.<created|updated|deleted>.
	Action string
	// Key is the record key, the FHIR door's rule ("Patient/<id>" for the
	// Patient and the resources about it, else "<Type>/<id>").
	Key string
	// Source is the HL7 message the resource comes from; SourceTopic the
	// topic of its raw record, prefix included.
	Source      HL7Meta
	SourceTopic string
	// Warnings are the conversion's findings about the message: values
	// the mapping could not read and left out (hl7.convert.warnings, in
	// the hl7.warnings form; omitted when none).
	Warnings validation.Findings
}

// HL7ConvertWarningsHeader names, on a converted record, what the
// conversion of its message left out: "count:code@location,...", HL7
// locations, never values.
const HL7ConvertWarningsHeader = "hl7.convert.warnings"

// ConvertedRecord builds the record of a FHIR resource converted from an
// HL7 v2 message: topic, value and fhir.* headers as the FHIR door's
// records, so that consumers of fhir.<type>.<action> read both alike, and
// headers that link it to its source, named as on the HL7 record:
// hl7.message_type, hl7.trigger_event, hl7.control_id,
// hl7.sending_application, hl7.sending_facility, and hl7.source.topic;
// hl7.convert.warnings when the conversion left values out.
// ce_source is the message's (HL7Source) and ce_id the message's event id
// (sourceID, HL7EventID) followed by "/<Type>/<id>": unique per message
// and resource, and the same again when the message is resent. It fails
// only when no topic name can be made.
func ConvertedRecord(body []byte, prefix, connector, sourceID string, m ConvertedMeta, now time.Time) (*kgo.Record, error) {
	src := ConvertedSource{Source: m.Source, SourceTopic: m.SourceTopic, Warnings: m.Warnings}
	return NewConvertedRecords(prefix, connector, sourceID, src, now, 1).Add(ConvertedResource{
		Body: body, ResourceType: m.ResourceType, ID: m.ID, Action: m.Action, Key: m.Key})
}

// ConversionDeadLetter builds the dead-letter record of a message that was
// stored (in sourceTopic) but could not be converted to FHIR: DeadLetter's
// record with stage CONVERT, so the reason and the HL7 location are in
// the __connect.errors.* headers when they are enabled, and always the
// headers that link it to its source, as on ConvertedRecord.
func ConversionDeadLetter(raw []byte, in DLQInfo, src HL7Meta, sourceTopic string) *kgo.Record {
	in.Stage = StageConvert
	rec := DeadLetter(raw, in)
	hb := newHeaderBuf(256 + len(sourceTopic))
	src.decoded().appendSourceHeaders(hb, sourceTopic)
	rec.Headers = append(rec.Headers, hb.headers()...)
	return rec
}

// appendSourceHeaders adds the headers naming the HL7 message a record
// was made from; m must be decoded.
func (m HL7Meta) appendSourceHeaders(hb *headerBuf, sourceTopic string) {
	hb.add("hl7.message_type", m.MessageType)
	hb.add("hl7.trigger_event", m.TriggerEvent)
	hb.add("hl7.control_id", m.ControlID)
	hb.add("hl7.sending_application", m.SendingApp)
	hb.add("hl7.sending_facility", m.SendingFacility)
	hb.add(HL7SourceTopicHeader, sourceTopic)
}
