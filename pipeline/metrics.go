package pipeline

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the pipeline's Prometheus metrics, shared by every connector
// (the connector is a label). A nil *Metrics records nothing.
type Metrics struct {
	received    *prometheus.CounterVec
	outcomes    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	dlqWrites   *prometheus.CounterVec
	unavailable *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	panics      *prometheus.CounterVec
}

// NewMetrics creates the pipeline metrics and registers them with reg.
// It panics if they are already registered with reg (a wiring bug).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_messages_received_total",
			Help: "Messages submitted to the pipeline, by connector and message type.",
		}, []string{"connector", "type"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_messages_total",
			Help: "Messages by connector, message type and outcome (accepted, invalid, refused, unavailable).",
		}, []string{"connector", "type", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_content_errors_total",
			Help: "Parse, validation and routing errors by connector, stage (PARSE, VALIDATE, ROUTE), HL7 table 0357 code and reason.",
		}, []string{"connector", "stage", "code", "reason"}),
		dlqWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_dlq_records_total",
			Help: "Records written to dead-letter topics, by connector.",
		}, []string{"connector"}),
		unavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_unavailable_total",
			Help: "Messages answered unavailable (AR/503/UNAVAILABLE), by connector and cause.",
		}, []string{"connector", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_ack_latency_seconds",
			Help:    "Time from receipt of a message to its answer being decided, by connector and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"connector", "outcome"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_step_panics_total",
			Help: "Parse, validate or route steps that panicked on a message (a bug; the message is answered as failing content), by connector and stage.",
		}, []string{"connector", "stage"}),
	}
	reg.MustRegister(m.received, m.outcomes, m.errors, m.dlqWrites, m.unavailable, m.latency, m.panics)
	return m
}

func (m *Metrics) observe(connector, kind string, out Outcome, start time.Time) {
	if m == nil {
		return
	}
	outcome := out.Status.String()
	m.received.WithLabelValues(connector, kind).Inc()
	m.outcomes.WithLabelValues(connector, kind, outcome).Inc()
	m.latency.WithLabelValues(connector, outcome).Observe(time.Since(start).Seconds())
	if out.Status == Unavailable {
		m.unavailable.WithLabelValues(connector, string(out.Reason)).Inc()
	}
	if out.Stage == StageParse || out.Stage == StageValidate || out.Stage == StageRoute {
		if f, ok := out.Findings.FirstError(); ok {
			m.errors.WithLabelValues(connector, string(out.Stage), strconv.Itoa(int(f.Code)), f.Code.Reason()).Inc()
		}
	}
}

func (m *Metrics) dlq(connector string) {
	if m == nil {
		return
	}
	m.dlqWrites.WithLabelValues(connector).Inc()
}

func (m *Metrics) panic(connector string, stage Stage) {
	if m == nil {
		return
	}
	m.panics.WithLabelValues(connector, string(stage)).Inc()
}
