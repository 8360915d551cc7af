package config

import (
	"slices"
	"strings"
	"time"

	"github.com/hl7gw/gateway/hl7/v2fhir"
)

// HL7FHIRSettings turn on the HL7 v2 to FHIR conversion in the stream: an
// accepted message of a listed type is also published as FHIR resources,
// in the same Kafka transaction as its raw record (ingest/hl7door).
type HL7FHIRSettings struct {
	// Types: hl7.fhir.convert, the MSH-9 types ("ADT^A01") to convert,
	// sorted; empty (the default) means no conversion. Each must be one
	// that hl7/v2fhir converts; any other is refused at load.
	Types []string
	// Zone: hl7.fhir.convert.zone (UTC), the time zone of HL7 times
	// written without an offset (v2fhir.Options.Zone); nil means UTC.
	Zone *time.Location
}

// Enabled reports whether any message type is converted.
func (h HL7FHIRSettings) Enabled() bool { return len(h.Types) > 0 }

// Converts reports whether messages of MSH-9 type typ ("ADT^A01") are
// converted.
func (h HL7FHIRSettings) Converts(typ string) bool {
	_, ok := slices.BinarySearch(h.Types, typ)
	return ok
}

// hl7FHIRKeys are accepted by every connector type: each one reads HL7
// (fhir-rest and grpc through POST /v1/hl7 and SubmitHL7).
var hl7FHIRKeys = []string{"hl7.fhir.convert", "hl7.fhir.convert.zone"}

func init() {
	for typ := range keysByType {
		keysByType[typ] = append(keysByType[typ], hl7FHIRKeys...)
	}
	// hl7-mllp has no FHIR dead-letter topic of its own until it converts.
	keysByType[TypeHL7MLLP] = append(keysByType[TypeHL7MLLP], "errors.deadletterqueue.fhir.topic.name")
	listKeys["hl7.fhir.convert"] = true
}

// readHL7FHIR reads hl7.fhir.convert and hl7.fhir.convert.zone. The value
// of hl7.fhir.convert is a YAML list or a string of types separated by
// commas, semicolons or spaces. An hl7-mllp connector that converts gets
// a FHIR dead-letter topic, errors.deadletterqueue.fhir.topic.name
// (prefix + fhir.dlq), for messages that cannot be converted; the other
// types have one already.
func (s *ConnectorSettings) readHL7FHIR(r *keyReader, typ string) {
	const key = "hl7.fhir.convert"
	raw, set := r.lookup(key)
	if set {
		supported := v2fhir.Supported()
		slices.Sort(supported)
		fields := strings.FieldsFunc(raw, func(c rune) bool { return c == ',' || c == ';' || c == ' ' || c == '\t' })
		for _, t := range fields {
			if _, ok := slices.BinarySearch(supported, t); !ok {
				r.fail(key, "%q is not a message type converted to FHIR (want MSH-9 type^event, one of %s)", t, strings.Join(supported, ", "))
				continue
			}
			s.HL7FHIR.Types = append(s.HL7FHIR.Types, t)
		}
		if len(fields) == 0 {
			r.fail(key, "no message type: remove the key to convert nothing")
		}
		slices.Sort(s.HL7FHIR.Types)
		s.HL7FHIR.Types = slices.Compact(s.HL7FHIR.Types)
	}
	if zone, set := r.lookup("hl7.fhir.convert.zone"); set {
		loc, err := time.LoadLocation(zone)
		if err != nil || zone == "" || zone == "Local" {
			r.fail("hl7.fhir.convert.zone", "must be an IANA time zone such as Europe/Berlin, got %q", zone)
		}
		s.HL7FHIR.Zone = loc
	}
	if typ == TypeHL7MLLP {
		if _, named := r.lookup("errors.deadletterqueue.fhir.topic.name"); named && !s.HL7FHIR.Enabled() {
			r.fail("errors.deadletterqueue.fhir.topic.name", "needs hl7.fhir.convert: an hl7-mllp connector writes FHIR only when it converts")
		}
		if s.HL7FHIR.Enabled() {
			s.FHIRDLQTopic = r.topic("errors.deadletterqueue.fhir.topic.name", s.TopicPrefix, "fhir.dlq")
		}
	}
}
