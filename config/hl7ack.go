package config

// HL7ACKSettings say which findings a connector's HL7 acknowledgements
// carry as ERR segments. Every connector type has them: fhir-rest and grpc
// answer POST /v1/hl7 and SubmitHL7 with ACKs too.
type HL7ACKSettings struct {
	// Warnings: hl7.ack.warnings.enabled (false), ERR segments for the
	// warnings of an accepted message in its AA/CA. Warnings always
	// travel in the record's hl7.warnings header.
	Warnings bool
	// MaxErrors: hl7.ack.max.err.segments (5, from 1 to 50), the ERR
	// segments of any acknowledgement; an error answer's first is its
	// cause.
	MaxErrors int
}

// hl7ACKKeys are accepted by every connector type.
var hl7ACKKeys = []string{"hl7.ack.warnings.enabled", "hl7.ack.max.err.segments"}

// maxACKErrSegments is the most ERR segments an ACK can be configured to
// carry; package hl7 writes no more than that whatever it is given.
const maxACKErrSegments = 50

func init() {
	for typ := range keysByType {
		keysByType[typ] = append(keysByType[typ], hl7ACKKeys...)
	}
}

func readHL7ACK(r *keyReader) HL7ACKSettings {
	a := HL7ACKSettings{
		Warnings:  r.boolean("hl7.ack.warnings.enabled", false),
		MaxErrors: r.integer("hl7.ack.max.err.segments", 5, 1),
	}
	if a.MaxErrors > maxACKErrSegments {
		r.fail("hl7.ack.max.err.segments", "must be at most %d, got %d", maxACKErrSegments, a.MaxErrors)
		a.MaxErrors = maxACKErrSegments
	}
	return a
}
