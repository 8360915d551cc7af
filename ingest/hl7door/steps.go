package hl7door

import (
	"context"
	"github.com/hl7gw/gateway/hl7"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/router"
	"github.com/hl7gw/gateway/validation"
)

// Validator checks a parsed message against the standard (strict or
// lenient) and decides its charset. It is declared here, where it is used;
// package hl7/conformance implements it.
type Validator interface {
	// Validate returns the findings for m; Error findings stop it.
	Validate(m *hl7.Message) validation.Findings
	// Charset names the charset m was read with and reports bytes that are
	// invalid in it.
	Charset(m *hl7.Message) (string, validation.Findings)
}

// Request is what an HL7 door knows about a message besides its bytes.
// It is empty for now: HL7 routing depends on the message alone.
type Request struct{}

// Parsed is a parsed HL7 message as it travels through the pipeline.
type Parsed struct {
	Msg *hl7.Message
	// Charset is set by Validate (or Route when validation is off).
	Charset string
	// conv is what Route did to convert the message to FHIR (nil when its
	// type is not converted).
	conv *conversion
}

// StepsConfig configures the HL7 v2 pipeline steps of one connector.
type StepsConfig struct {
	Connector   string
	TopicPrefix string
	// Validator checks messages; nil means no validation beyond the
	// parser's own (a parseable MSH with MSH-9).
	Validator Validator
	// Now is the clock for ce_time; nil means time.Now.
	Now func() time.Time
	// Converter, when set, also publishes the messages of its types as
	// FHIR resources, atomically with the raw record (see Converter).
	Converter *Converter
}

// Steps implements pipeline.Steps for HL7 v2 messages. It is safe for
// concurrent use.
type Steps struct {
	cfg StepsConfig
}

var _ pipeline.Steps[Request, *Parsed] = (*Steps)(nil)

// NewSteps returns the HL7 v2 steps for one connector.
func NewSteps(cfg StepsConfig) *Steps {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Steps{cfg: cfg}
}

// Parse parses raw with the lenient parser. It fails only when there is no
// parseable MSH with MSH-9.
func (s *Steps) Parse(_ context.Context, _ Request, raw []byte) (*Parsed, error) {
	m, err := hl7.Parse(raw)
	if err != nil {
		return nil, err
	}
	return &Parsed{Msg: m}, nil
}

// Validate runs the configured validator and the charset check.
func (s *Steps) Validate(_ context.Context, _ Request, p *Parsed) validation.Findings {
	if s.cfg.Validator == nil {
		return nil
	}
	findings := s.cfg.Validator.Validate(p.Msg)
	cs, csFindings := s.cfg.Validator.Charset(p.Msg)
	p.Charset = cs
	return append(findings, csFindings...)
}

// Route builds the record of an HL7 message: its bytes unchanged, routed
// by MSH-9 and keyed by the patient; with a Converter, for the types it
// converts, followed by the message's FHIR resources (or the dead-letter
// record of its conversion failure), all to be published in one
// transaction.
func (s *Steps) Route(_ context.Context, _ Request, p *Parsed, warnings validation.Findings) (pipeline.Routed, error) {
	if p.Charset == "" && s.cfg.Validator != nil {
		p.Charset, _ = s.cfg.Validator.Charset(p.Msg)
	}
	meta, now := Meta(p.Msg, p.Charset), s.cfg.Now()
	rec, err := router.HL7Record(p.Msg.Raw(), s.cfg.TopicPrefix, s.cfg.Connector, meta, warnings, now)
	if err != nil {
		return pipeline.Routed{}, err
	}
	if s.cfg.Converter != nil {
		return s.convert(p, rec, meta, now), nil
	}
	return pipeline.Routed{Records: []*kgo.Record{rec}}, nil
}

// Kind is the metric label: "ADT^A01", or "other" for messages that did
// not parse or whose type is not a plain HL7 code.
func (s *Steps) Kind(p *Parsed) string {
	if p == nil || p.Msg == nil {
		return "other"
	}
	h := p.Msg.Header()
	if !isCode(h.MessageType) || (h.TriggerEvent != "" && !isCode(h.TriggerEvent)) {
		return "other"
	}
	if h.TriggerEvent == "" {
		return h.MessageType
	}
	return h.MessageType + "^" + h.TriggerEvent
}

// isCode bounds metric label values: 2 to 4 upper-case letters or digits,
// as HL7 message type and event codes are.
func isCode(s string) bool {
	if len(s) < 2 || len(s) > 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Meta extracts what routing needs from a message.
func Meta(m *hl7.Message, charset string) router.HL7Meta {
	h := m.Header()
	meta := router.HL7Meta{
		MessageType:     h.MessageType,
		TriggerEvent:    h.TriggerEvent,
		Version:         h.Version,
		ControlID:       h.ControlID,
		SendingApp:      h.SendingApp,
		SendingFacility: h.SendingFacility,
		Charset:         charset,
	}
	if pid, ok := m.Segment("PID", 1); ok {
		id := pid.Field(3).Rep(1)
		meta.PatientID = string(id.Component(1).Raw())
		meta.PatientAuthority = string(id.Component(4).Raw())
	}
	return meta
}
