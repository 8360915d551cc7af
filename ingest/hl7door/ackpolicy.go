package hl7door

import (
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/validation"
)

// DefaultACKMaxErrors is how many ERR segments an acknowledgement carries
// unless configured otherwise (hl7.ack.max.err.segments).
const DefaultACKMaxErrors = 5

// ACKPolicy says which findings become ERR segments. Senders read ACKs in
// small buffers (python-hl7's client reads one 4 KB chunk), so answers
// stay short: warnings already travel in the record's hl7.warnings header
// and in metrics.
type ACKPolicy struct {
	// Warnings puts the warnings of an accepted message into its AA/CA
	// (hl7.ack.warnings.enabled); off by default, so that a positive
	// answer has no ERR segment.
	Warnings bool
	// MaxErrors bounds the ERR segments (ERR-1 repetitions before v2.5) of
	// any answer (hl7.ack.max.err.segments); zero means
	// DefaultACKMaxErrors, and more than 50 is 50.
	MaxErrors int
}

// WithACKPolicy sets which findings the door's acknowledgements carry.
func WithACKPolicy(p ACKPolicy) DoorOption { return func(d *Door) { d.ackPolicy = p } }

// findings returns the findings the ACK of out carries, in order: for an
// accepted message its warnings when enabled, else none; for any other
// outcome the cause first (the first error finding, or for a message not
// stored an application internal error, code 207, naming the reason), then
// the other errors, then warnings. At most MaxErrors.
func (p ACKPolicy) findings(out pipeline.Outcome) validation.Findings {
	limit := p.MaxErrors
	if limit <= 0 {
		limit = DefaultACKMaxErrors
	}
	limit = min(limit, hl7.MaxACKErrors)
	if out.Status == pipeline.Accepted {
		if !p.Warnings {
			return nil
		}
		w := out.Findings.Warnings()
		return w[:min(len(w), limit)]
	}
	fs := make(validation.Findings, 0, min(len(out.Findings)+1, limit))
	if out.Status == pipeline.Unavailable { // also when the DLQ was down for an invalid message
		fs = append(fs, validation.Finding{Severity: validation.SeverityError, Code: validation.CodeInternal, Message: ackText(out)})
	}
	for _, sev := range []validation.Severity{validation.SeverityError, validation.SeverityWarning} {
		for _, f := range out.Findings {
			if len(fs) == limit {
				return fs
			}
			if f.Severity == sev {
				fs = append(fs, f)
			}
		}
	}
	return fs
}
