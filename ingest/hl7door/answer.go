package hl7door

import (
	"context"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/pipeline"
)

// Answer is the door's whole answer to one payload: the acknowledgement,
// its code and the pipeline's outcome. The door knows the code because it
// chose it, so callers that report it (SubmitHL7's ack_code, POST /v1/hl7's
// X-HL7-Ack-Code) take it from here and never read it back out of the
// bytes.
type Answer struct {
	// ACK is the acknowledgement to send: empty, not nil, when MSH-15 asked
	// for none in this case (an MLLP server then writes nothing).
	ACK []byte
	// Code is MSA-1 of ACK: AA, AE or AR (original mode), CA, CE or CR
	// (enhanced mode); for a batch the worst of its ACKs (reject over error
	// over accept); "" when ACK holds no MSA.
	Code string
	// Outcome is the pipeline's outcome; for a batch the worst of its
	// messages' (see SubmitHL7).
	Outcome pipeline.Outcome
}

// Answer runs one payload, a message or an FHS/BHS batch, as SubmitHL7
// does and returns the ACK with its code and the outcome.
func (d *Door) Answer(ctx context.Context, raw []byte) Answer {
	if _, b, isBatch := hl7.Units(raw); isBatch {
		return d.submitBatch(ctx, raw, b)
	}
	m, out := d.submitOne(ctx, raw)
	ack, code := d.ack(m, raw, out)
	return Answer{ACK: ack, Code: code, Outcome: out}
}

// worseCode returns the worse of two acknowledgement codes: reject (AR, CR)
// over error (AE, CE) over accept (AA, CA) over none ("").
func worseCode(a, b string) string {
	if codeRank(b) > codeRank(a) {
		return b
	}
	return a
}

func codeRank(code string) int {
	switch code {
	case "AA", "CA":
		return 1
	case "AE", "CE":
		return 2
	case "AR", "CR":
		return 3
	}
	return 0
}
