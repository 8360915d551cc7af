package hl7door

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/hl7/v2fhir"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/router"
	"github.com/hl7gw/gateway/validation"
)

// ConvertConfig turns on HL7 v2 to FHIR conversion in the stream for one
// connector (hl7.fhir.convert).
type ConvertConfig struct {
	// Types are the MSH-9 types ("ADT^A01") to convert; others are
	// published raw only.
	Types []string
	// Zone is the time zone of HL7 times without an offset; nil is UTC.
	Zone *time.Location
	// DLQTopic is the FHIR dead-letter topic (prefix applied) that takes a
	// message that cannot be converted; "" writes none (errors.tolerance
	// none): the failure is then only counted and logged.
	DLQTopic string
	// DLQContextHeaders adds the __connect.errors.* headers (reason and
	// HL7 location) to that record.
	DLQContextHeaders bool
}

// Converter converts the messages of the configured types to FHIR R4
// resources (package hl7/v2fhir) in the route step, so that they are
// published in the same Kafka transaction as the raw record: a
// read_committed consumer sees the raw message and its resources, or
// none of them, and the sender's AA comes only after the commit. A message
// that cannot be converted is still stored raw and answered as before;
// its failure goes to the FHIR dead-letter topic in that same
// transaction. It is safe for concurrent use.
type Converter struct {
	cfg   ConvertConfig
	count *prometheus.CounterVec
}

// Conversion results, the result label of
// gateway_hl7_fhir_conversions_total.
const (
	convConverted   = "converted"   // resources published with the raw record
	convFailed      = "failed"      // raw record and a FHIR dead-letter record
	convUnsupported = "unsupported" // the converter does not convert it: raw only
)

// NewConverter returns the converter of one connector. Its metric,
// gateway_hl7_fhir_conversions_total{connector,type,result}, is registered
// with reg (nil: not registered); connector is its label.
func NewConverter(cfg ConvertConfig, connector string, reg prometheus.Registerer) *Converter {
	cfg.Types = slices.Clone(cfg.Types)
	slices.Sort(cfg.Types)
	if cfg.Zone == nil {
		cfg.Zone = time.UTC
	}
	c := &Converter{cfg: cfg}
	c.count = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_hl7_fhir_conversions_total",
		Help: "HL7 v2 messages of a type configured for FHIR conversion (hl7.fhir.convert) that were stored, by message type " +
			"and result: converted (FHIR resources in the raw record's transaction), failed (raw record and a FHIR dead-letter record), unsupported (raw only).",
		ConstLabels: prometheus.Labels{"connector": connector},
	}, []string{"type", "result"})
	if reg != nil {
		reg.MustRegister(c.count)
	}
	return c
}

// Metric returns the conversion counter, for tests.
func (c *Converter) Metric() *prometheus.CounterVec { return c.count }

func (c *Converter) converts(typ string) bool {
	_, ok := slices.BinarySearch(c.cfg.Types, typ)
	return ok
}

// conversion is what the route step did with one message; the door
// counts and logs it once the message's outcome is known.
type conversion struct {
	c       *Converter
	typ     string
	result  string
	finding validation.Finding // the failure, for result failed
}

// convert adds to rec, the raw record of p, the records of its conversion:
// one per FHIR resource, or the dead-letter record of a failure. Either
// way the records are published atomically. A message whose type is not
// converted keeps rec alone. now is the receipt time.
func (s *Steps) convert(p *Parsed, rec *kgo.Record, meta router.HL7Meta, now time.Time) pipeline.Routed {
	c := s.cfg.Converter
	single := pipeline.Routed{Records: []*kgo.Record{rec}}
	typ := meta.MessageType + "^" + meta.TriggerEvent
	if c == nil || !c.converts(typ) {
		return single
	}
	conv := &conversion{c: c, typ: typ}
	p.conv = conv
	res, err := v2fhir.Convert(p.Msg, v2fhir.Options{Zone: c.cfg.Zone, Now: s.cfg.Now})
	var recs []*kgo.Record
	if err == nil {
		recs, err = s.convertedRecords(res, rec, meta, now)
	}
	if errors.Is(err, v2fhir.ErrUnsupported) {
		conv.result = convUnsupported
		return single
	}
	if err != nil {
		conv.result, conv.finding = convFailed, failureFinding(err)
		if c.cfg.DLQTopic == "" {
			return single
		}
		dlq := router.ConversionDeadLetter(p.Msg.Raw(), router.DLQInfo{
			Topic:          c.cfg.DLQTopic,
			Connector:      s.cfg.Connector,
			Findings:       validation.Findings{conv.finding},
			ContentType:    router.ContentTypeHL7,
			ContextHeaders: c.cfg.DLQContextHeaders,
			Key:            rec.Key,
		}, meta, rec.Topic)
		return pipeline.Routed{Records: []*kgo.Record{rec, dlq}, Atomic: true}
	}
	conv.result = convConverted
	return pipeline.Routed{Records: recs, Atomic: true}
}

// convertedRecords is rec followed by one record per resource of res,
// built together so that they share the message's header values.
func (s *Steps) convertedRecords(res *v2fhir.Result, rec *kgo.Record, meta router.HL7Meta, now time.Time) ([]*kgo.Record, error) {
	recs := make([]*kgo.Record, 0, 1+len(res.Entries))
	recs = append(recs, rec)
	sourceID := router.HL7EventID(router.UTF8(meta.ControlID, meta.Charset), rec.Value)
	set := router.NewConvertedRecords(s.cfg.TopicPrefix, s.cfg.Connector, sourceID, router.ConvertedSource{
		Source: meta, SourceTopic: rec.Topic, Warnings: res.Warnings,
	}, now, len(res.Entries))
	for _, e := range res.Entries {
		r, err := set.Add(router.ConvertedResource{Body: e.JSON, ResourceType: e.Type, ID: e.ID, Action: action(e.Op), Key: e.Key})
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// action is the FHIR door's name of an operation, which picks the topic.
func action(op v2fhir.Op) string {
	switch op {
	case v2fhir.Created:
		return "create"
	case v2fhir.Updated:
		return "update"
	default:
		return "delete"
	}
}

// failureFinding is the finding a conversion error carries (code and HL7
// location, never the value), or a 207 finding naming an unexpected error.
func failureFinding(err error) validation.Finding {
	var ce *v2fhir.Error
	if errors.As(err, &ce) {
		return ce.Finding
	}
	var ve *validation.Error
	if errors.As(err, &ve) && len(ve.Findings) > 0 {
		return ve.Findings[0]
	}
	return validation.Finding{Severity: validation.SeverityError, Code: validation.CodeInternal, Message: "conversion to FHIR failed"}
}

// observeConversion counts and logs the conversion of a message once its
// outcome is known: only a stored message (Accepted) counts, since one
// that was not stored is resent and converted again.
func (d *Door) observeConversion(p *Parsed, out pipeline.Outcome) {
	if p == nil || p.conv == nil || out.Status != pipeline.Accepted {
		return
	}
	cv := p.conv
	cv.c.count.WithLabelValues(cv.typ, cv.result).Inc()
	if cv.result != convFailed {
		return
	}
	h := p.Msg.Header()
	d.log.LogAttrs(context.Background(), slog.LevelInfo, "hl7 message stored but not converted to FHIR",
		slog.String("connector", d.p.Config().Connector),
		slog.String("control_id", h.ControlID),
		slog.String("message_type", cv.typ),
		slog.Int("code", int(cv.finding.Code)),
		slog.String("location", cv.finding.Location),
		slog.Bool("dead_lettered", cv.c.cfg.DLQTopic != ""))
}
