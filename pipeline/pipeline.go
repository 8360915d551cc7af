package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/router"
	"github.com/hl7gw/gateway/validation"
)

// Steps is what a message format (HL7 v2, FHIR) plugs into the pipeline.
// Req is the per-request context a door has besides the bytes (nothing for
// MLLP; method, type and id for FHIR REST); M is the parsed message.
//
// Implementations must be safe for concurrent use and must not retain raw
// beyond the records they return (records may alias raw: the pipeline does
// not modify it).
type Steps[Req, M any] interface {
	// Parse turns raw bytes into a message. Content problems are returned
	// as a *validation.Error (possibly wrapped); any other error is treated
	// as a content problem with code 207.
	Parse(ctx context.Context, req Req, raw []byte) (M, error)
	// Validate checks a parsed message. Error findings stop it; warnings
	// travel with it.
	Validate(ctx context.Context, req Req, m M) validation.Findings
	// Route returns the records to publish for m. warnings are the
	// findings to record in headers. Atomic asks for all records to be
	// published in one Kafka transaction.
	Route(ctx context.Context, req Req, m M, warnings validation.Findings) (Routed, error)
	// Kind is the metric label for a message ("ADT^A01", "Patient"); it is
	// called with the zero M when parsing failed and must return a bounded
	// set of values (unknown types fold into "other").
	Kind(m M) string
}

// Routed is the result of the route step.
type Routed struct {
	Records []*kgo.Record
	// Atomic: publish all records in one transaction, seen by read_committed
	// consumers entirely or not at all.
	Atomic bool
}

// Publisher writes records to Kafka. It is declared here, where it is
// consumed; package publish implements it.
type Publisher interface {
	// Publish blocks until every record is acknowledged (acks=all) or
	// failed, or ctx ends. On error nothing may be assumed written unless
	// atomic was set, in which case nothing visible to read_committed
	// consumers was written. Errors that know their cause implement
	// Reason() Reason.
	Publish(ctx context.Context, recs []*kgo.Record, atomic bool) ([]Delivery, error)
}

// Tolerance is Kafka Connect's errors.tolerance.
type Tolerance uint8

const (
	// ToleranceAll writes invalid messages to the dead-letter topic.
	ToleranceAll Tolerance = iota
	// ToleranceNone refuses invalid messages without writing them anywhere.
	ToleranceNone
)

// Config is one connector's pipeline settings, already resolved (topic
// prefix applied).
type Config struct {
	Connector         string
	ValidationEnabled bool
	Tolerance         Tolerance
	DLQTopic          string
	DLQContextHeaders bool
	// ContentType of the raw bytes, for the DLQ record's content-type header.
	ContentType string
	// MaxInFlight bounds concurrent Submit calls; past it the answer is
	// Unavailable with ErrOverloaded. Zero means unbounded.
	MaxInFlight int
	// Log receives what the pipeline itself logs (a step's panic); nil
	// means slog.Default().
	Log *slog.Logger
}

// Pipeline runs one connector's messages through Steps and a Publisher. It
// is safe for concurrent use; each Submit is independent.
type Pipeline[Req, M any] struct {
	cfg      Config
	steps    Steps[Req, M]
	pub      Publisher
	m        *Metrics
	sem      chan struct{}
	paused   atomic.Bool
	inflight atomic.Int64
}

// New builds a pipeline. metrics may be nil (no metrics recorded).
func New[Req, M any](cfg Config, steps Steps[Req, M], pub Publisher, metrics *Metrics) *Pipeline[Req, M] {
	p := &Pipeline[Req, M]{cfg: cfg, steps: steps, pub: pub, m: metrics}
	if cfg.MaxInFlight > 0 {
		p.sem = make(chan struct{}, cfg.MaxInFlight)
	}
	return p
}

// Config returns the pipeline's settings.
func (p *Pipeline[Req, M]) Config() Config { return p.cfg }

// SetPaused pauses or resumes the connector. A paused pipeline answers every
// message Unavailable (ErrPaused) without reading it further.
func (p *Pipeline[Req, M]) SetPaused(v bool) { p.paused.Store(v) }

// Paused reports whether the connector is paused.
func (p *Pipeline[Req, M]) Paused() bool { return p.paused.Load() }

// InFlight is the number of Submit calls currently running.
func (p *Pipeline[Req, M]) InFlight() int64 { return p.inflight.Load() }

// Submit runs raw through parse -> validate -> route -> publish and returns
// the parsed message (the zero M when parsing failed) with the Outcome. It
// blocks until the broker has answered or ctx ends; it never returns
// Accepted for a record the broker did not acknowledge.
func (p *Pipeline[Req, M]) Submit(ctx context.Context, req Req, raw []byte) (M, Outcome) {
	start := time.Now()
	var zero M
	if p.paused.Load() {
		out := Outcome{Status: Unavailable, Stage: StagePublish, Cause: ErrPaused, Reason: ReasonPaused}
		p.m.observe(p.cfg.Connector, "other", out, start)
		return zero, out
	}
	if p.sem != nil {
		select {
		case p.sem <- struct{}{}:
			defer func() { <-p.sem }()
		default:
			out := Outcome{Status: Unavailable, Stage: StagePublish, Cause: ErrOverloaded, Reason: ReasonOverloaded}
			p.m.observe(p.cfg.Connector, "other", out, start)
			return zero, out
		}
	}
	p.inflight.Add(1)
	defer p.inflight.Add(-1)

	m, out := p.run(ctx, req, raw)
	p.m.observe(p.cfg.Connector, p.steps.Kind(m), out, start)
	return m, out
}

func (p *Pipeline[Req, M]) run(ctx context.Context, req Req, raw []byte) (M, Outcome) {
	m, routed, findings, out := p.content(ctx, req, raw)
	if out.Status != 0 {
		return m, out
	}
	dels, err := p.pub.Publish(ctx, routed.Records, routed.Atomic)
	if err != nil {
		if tooLarge(err) {
			return m, Outcome{Status: Refused, Stage: StagePublish, Findings: append(findings, tooLargeFinding), Cause: err, Reason: ReasonRecordTooLarge}
		}
		return m, unavailable(err, findings)
	}
	return m, Outcome{Status: Accepted, Findings: findings, Deliveries: dels}
}

// content runs parse, validate and route; an out with a Status means the
// message failed there and out is its answer. A panic in one of these steps (a bug
// in a format package that this message sets off) is that stage's failure
// with one internal finding (code 207): dead-lettered or refused like any
// content failure, counted in gateway_step_panics_total and logged with its
// stack, and never the end of the process (a gRPC server does not recover
// its handlers' panics). Resending the message fails the same way, so it
// is not answered as retryable. Publish panics are not recovered here.
func (p *Pipeline[Req, M]) content(ctx context.Context, req Req, raw []byte) (m M, routed Routed, findings validation.Findings, out Outcome) {
	stage := StageParse
	defer func() {
		if v := recover(); v != nil {
			p.panicked(stage, v)
			f := validation.Finding{Severity: validation.SeverityError, Code: validation.CodeInternal,
				Message: "internal error in the gateway's " + strings.ToLower(string(stage)) + " step on this message; resending it fails the same way"}
			out = p.fail(ctx, raw, stage, append(findings, f))
		}
	}()
	m, err := p.steps.Parse(ctx, req, raw)
	if err != nil {
		return m, Routed{}, nil, p.fail(ctx, raw, StageParse, validation.FindingsOf(err))
	}
	if p.cfg.ValidationEnabled {
		stage = StageValidate
		findings = p.steps.Validate(ctx, req, m)
		if findings.HasErrors() {
			return m, Routed{}, findings, p.fail(ctx, raw, StageValidate, findings)
		}
	}
	stage = StageRoute
	routed, err = p.steps.Route(ctx, req, m, findings.Warnings())
	if err != nil {
		return m, Routed{}, findings, p.fail(ctx, raw, StageRoute, append(findings, validation.FindingsOf(err)...))
	}
	return m, routed, findings, Outcome{}
}

// panicked counts and logs a step's panic. The panic value may quote the
// message, so only its type is logged, except for runtime errors (an index
// out of range, a nil dereference), whose texts carry no data.
func (p *Pipeline[Req, M]) panicked(stage Stage, v any) {
	p.m.panic(p.cfg.Connector, stage)
	what := fmt.Sprintf("%T", v)
	if re, ok := v.(runtime.Error); ok {
		what = re.Error()
	}
	log := p.cfg.Log
	if log == nil {
		log = slog.Default()
	}
	log.Error("pipeline step panicked: a bug, the message is answered as failing content",
		"connector", p.cfg.Connector, "stage", string(stage), "panic", what, "stack", string(debug.Stack()))
}

// fail handles a content failure: the DLQ (tolerance all) or a refusal.
func (p *Pipeline[Req, M]) fail(ctx context.Context, raw []byte, stage Stage, findings validation.Findings) Outcome {
	if p.cfg.Tolerance == ToleranceNone {
		return Outcome{Status: Refused, Stage: stage, Findings: findings}
	}
	rec := router.DeadLetter(raw, router.DLQInfo{
		Topic:          p.cfg.DLQTopic,
		Connector:      p.cfg.Connector,
		Stage:          string(stage),
		Findings:       findings,
		ContentType:    p.cfg.ContentType,
		ContextHeaders: p.cfg.DLQContextHeaders,
	})
	dels, err := p.pub.Publish(ctx, []*kgo.Record{rec}, false)
	if err != nil {
		if tooLarge(err) {
			// Not even the dead-letter topic takes it: a retry cannot help.
			return Outcome{Status: Refused, Stage: stage, Findings: append(findings, tooLargeFinding), Cause: err, Reason: ReasonRecordTooLarge}
		}
		out := unavailable(err, findings)
		out.Stage = stage
		return out
	}
	p.m.dlq(p.cfg.Connector)
	return Outcome{Status: Invalid, Stage: stage, Findings: findings, Deliveries: dels}
}

// tooLargeFinding reports a message Kafka will never take (larger than the
// producer's batch limit or the topic's max.message.bytes). It is a content
// answer (AE, 4xx), not "retry later": resending the same bytes cannot
// succeed, and the sender keeps the message.
var tooLargeFinding = validation.Finding{Severity: validation.SeverityError, Code: validation.CodeValueTooLong,
	Message: "message larger than the Kafka record size limit"}

func tooLarge(err error) bool { return errors.Is(err, ErrRecordTooLarge) }

func unavailable(err error, findings validation.Findings) Outcome {
	return Outcome{Status: Unavailable, Stage: StagePublish, Findings: findings, Cause: err, Reason: ReasonOf(err)}
}

// ReasonOf labels a publish error for metrics and logs. Errors that
// implement Reason() Reason label themselves.
func ReasonOf(err error) Reason {
	var r interface{ Reason() Reason }
	switch {
	case errors.As(err, &r):
		return r.Reason()
	case errors.Is(err, ErrOverloaded):
		return ReasonOverloaded
	case errors.Is(err, ErrPaused):
		return ReasonPaused
	case errors.Is(err, ErrRecordTooLarge):
		return ReasonRecordTooLarge
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	default:
		return ReasonPublishFailed
	}
}
