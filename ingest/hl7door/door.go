// Package hl7door is the HL7 v2 door of the gateway: the pipeline steps
// that parse (package hl7), validate (a Validator such as
// hl7/conformance's) and route one message, and the Door behind MLLP,
// SubmitHL7 and POST /v1/hl7 that runs each message (or each message of a
// batch) through the pipeline, waits for its outcome and answers with an
// acknowledgement chosen by the ACK policy, optionally suppressing
// duplicates (Dedup). Unlike package hl7, it blocks: a message is answered
// only once the broker has acknowledged its record.
package hl7door

import (
	"context"
	"github.com/hl7gw/gateway/hl7"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/validation"
)

// Door is the HL7 v2 front door behind MLLP, SubmitHL7 and POST /v1/hl7:
// it runs each message through the pipeline and answers with an HL7
// acknowledgement built from the inbound MSH. It is safe for concurrent
// use.
type Door struct {
	p   *pipeline.Pipeline[Request, *Parsed]
	log *slog.Logger
	now func() time.Time
	seq atomic.Uint64
	// idPrefix makes ACK control ids unique across restarts.
	idPrefix  string
	dedup     *Dedup
	ackPolicy ACKPolicy
}

// DoorOption configures a Door.
type DoorOption func(*Door)

// WithDedup makes the door answer a resend of a stored message AA again
// without publishing it a second time; see Dedup.
func WithDedup(dd *Dedup) DoorOption { return func(d *Door) { d.dedup = dd } }

// NewDoor returns a door over p. logger may be nil.
func NewDoor(p *pipeline.Pipeline[Request, *Parsed], logger *slog.Logger, opts ...DoorOption) *Door {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Door{
		p:        p,
		log:      logger,
		now:      time.Now,
		idPrefix: "GW" + strconv.FormatInt(time.Now().UnixMilli()%1e9, 36),
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

// SubmitHL7 handles one MLLP payload: a single message, or an FHS/BHS batch
// whose messages are each submitted on their own and acknowledged in one
// batch of ACKs. It blocks until every message has its outcome. ack is nil
// when enhanced-mode MSH-15 says no acknowledgement is wanted for the
// outcome: empty, not nil, so that an MLLP server writes nothing and keeps
// the connection. For a batch, out is the worst outcome of its messages.
// Answer does the same and also returns the ACK's code.
func (d *Door) SubmitHL7(ctx context.Context, raw []byte) (ack []byte, out pipeline.Outcome) {
	a := d.Answer(ctx, raw)
	return a.ACK, a.Outcome
}

// ReasonDuplicate is the Reason of an Accepted outcome answered from the
// duplicate memory: the message was stored before, not now.
const ReasonDuplicate pipeline.Reason = "duplicate"

// submitOne runs one message through the pipeline and logs a failure. m is
// nil when the message did not parse. With duplicate suppression, a resend
// of a stored message is answered from memory (Accepted with the first
// copy's deliveries) without entering the pipeline.
func (d *Door) submitOne(ctx context.Context, raw []byte) (*hl7.Message, pipeline.Outcome) {
	if d.dedup != nil {
		if m, err := hl7.Parse(raw); err == nil {
			deliveries, dup, release := d.dedup.claim(ctx, m)
			if dup {
				return m, pipeline.Outcome{Status: pipeline.Accepted, Deliveries: deliveries, Reason: ReasonDuplicate}
			}
			pm, out := d.submitPipeline(ctx, raw)
			release(out)
			return pm, out
		}
	}
	return d.submitPipeline(ctx, raw)
}

func (d *Door) submitPipeline(ctx context.Context, raw []byte) (*hl7.Message, pipeline.Outcome) {
	p, out := d.p.Submit(ctx, Request{}, raw)
	var m *hl7.Message
	if p != nil {
		m = p.Msg
	}
	d.logOutcome(m, out)
	d.observeConversion(p, out)
	return m, out
}

// ack builds the acknowledgement for one message and returns it with its
// MSA-1 code, or an empty slice and "" when the sender asked (MSH-15) for
// none in this case. m is the message the pipeline parsed; when it has
// none (the connector is paused or overloaded, or Parse refused the
// message) the MSH of raw is read here, so that every answer whose MSH can
// be read echoes MSH-10 in MSA-2, swaps sender and receiver and keeps
// version and charset.
func (d *Door) ack(m *hl7.Message, raw []byte, out pipeline.Outcome) (ack []byte, code string) {
	if m == nil {
		m, _ = hl7.ParseMSH(raw)
	}
	enhanced := false
	if m != nil {
		h := m.Header()
		enhanced = h.AcceptAckType != ""
		if enhanced && !wantAck(h.AcceptAckType, out.Status == pipeline.Accepted) {
			return []byte{}, ""
		}
	}
	code = AckCode(out, enhanced)
	return hl7.BuildACK(m, hl7.ACKOptions{
		Code:      code,
		Text:      ackText(out),
		Findings:  d.ackPolicy.findings(out),
		ControlID: d.nextControlID(),
		Time:      d.now(),
	}), code
}

// AckCode is the one place an Outcome becomes an HL7 acknowledgement code.
// Original mode answers AA/AE/AR, enhanced mode (MSH-15 present) CA/CE/CR.
// Accepted -> AA; content errors (written to the DLQ or refused) -> AE,
// except an unsupported message type, event, processing id or version,
// which the standard answers AR; not stored -> AR, so that the sender
// keeps the message and resends it.
func AckCode(out pipeline.Outcome, enhanced bool) string {
	code := "AR"
	switch out.Status {
	case pipeline.Accepted:
		code = "AA"
	case pipeline.Invalid, pipeline.Refused:
		code = "AE"
		if f, ok := out.Findings.FirstError(); ok && isRejectCode(f.Code) {
			code = "AR"
		}
	}
	if enhanced {
		return "C" + code[1:]
	}
	return code
}

func isRejectCode(c validation.Code) bool {
	switch c {
	case validation.CodeUnsupportedType, validation.CodeUnsupportedEvent,
		validation.CodeUnsupportedProcessID, validation.CodeUnsupportedVersion:
		return true
	}
	return false
}

// wantAck applies MSH-15 (table 0155): AL always, NE never, ER only on
// error or reject, SU only on success. Unknown values are treated as AL.
func wantAck(mode string, success bool) bool {
	switch mode {
	case "NE":
		return false
	case "ER":
		return !success
	case "SU":
		return success
	}
	return true
}

// ackText is MSA-3: a short reason that never contains message content.
func ackText(out pipeline.Outcome) string {
	switch out.Status {
	case pipeline.Accepted:
		return ""
	case pipeline.Invalid:
		return "message invalid, kept in the dead-letter queue"
	case pipeline.Refused:
		return "message invalid, refused"
	default:
		return "message not stored (" + string(out.Reason) + "), please resend"
	}
}

func (d *Door) nextControlID() string {
	return d.idPrefix + strconv.FormatUint(d.seq.Add(1), 10)
}

// logOutcome logs refusals and failures with control id, type, position
// and error class; never the message content.
func (d *Door) logOutcome(m *hl7.Message, out pipeline.Outcome) {
	if out.Status == pipeline.Accepted {
		return
	}
	attrs := []slog.Attr{
		slog.String("connector", d.p.Config().Connector),
		slog.String("outcome", out.Status.String()),
		slog.String("stage", string(out.Stage)),
	}
	if m != nil {
		h := m.Header()
		attrs = append(attrs, slog.String("control_id", h.ControlID), slog.String("message_type", h.MessageType+"^"+h.TriggerEvent))
	}
	if f, ok := out.Findings.FirstError(); ok {
		attrs = append(attrs, slog.Int("code", int(f.Code)), slog.String("location", f.Location), slog.Int("findings", len(out.Findings)))
	}
	if out.Status == pipeline.Unavailable {
		attrs = append(attrs, slog.String("reason", string(out.Reason)), slog.String("error", errString(out.Cause)))
		d.log.LogAttrs(context.Background(), slog.LevelWarn, "hl7 message not stored", attrs...)
		return
	}
	d.log.LogAttrs(context.Background(), slog.LevelInfo, "hl7 message invalid", attrs...)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
