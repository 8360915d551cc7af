package mllp

import "github.com/prometheus/client_golang/prometheus"

// Frame error reasons, the `reason` label of gateway_mllp_frame_errors_total.
const (
	ReasonTooLarge     = "too_large"
	ReasonTruncated    = "truncated"
	ReasonReadTimeout  = "read_timeout"
	ReasonIdleTimeout  = "idle_timeout"
	ReasonWriteError   = "write_error"
	ReasonReadError    = "read_error"    // any other read failure (reset by peer, ...)
	ReasonHandlerPanic = "handler_panic" // the handler panicked; the connection is closed
	ReasonNoAnswer     = "no_answer"     // the handler returned nil; the connection is closed
)

// Metrics are the MLLP servers' Prometheus metrics; the server name is the
// `listener` label. A nil *Metrics records nothing. Safe for concurrent use.
type Metrics struct {
	active    *prometheus.GaugeVec
	conns     *prometheus.CounterVec
	frames    *prometheus.CounterVec
	discarded *prometheus.CounterVec
	errors    *prometheus.CounterVec
	bytes     *prometheus.CounterVec
}

// NewMetrics creates the MLLP metrics and registers them with reg. It panics
// if they are already registered with reg (a wiring bug): create one Metrics
// and share it between servers.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	l := []string{"listener"}
	m := &Metrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gateway_mllp_connections_active",
			Help: "MLLP connections currently open.",
		}, l),
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_mllp_connections_total",
			Help: "MLLP connections accepted and served.",
		}, l),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_mllp_frames_total",
			Help: "Whole MLLP frames received.",
		}, l),
		discarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_mllp_discarded_bytes_total",
			Help: "Bytes discarded outside MLLP frames or in oversized frames.",
		}, l),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_mllp_frame_errors_total",
			Help: "Connections closed on a framing or transport error, by reason.",
		}, []string{"listener", "reason"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_mllp_bytes_received_total",
			Help: "Payload bytes of whole MLLP frames received.",
		}, l),
	}
	reg.MustRegister(m.active, m.conns, m.frames, m.discarded, m.errors, m.bytes)
	return m
}

// listenerMetrics are the Metrics curried with one listener label, so the
// per-frame path does no label lookups.
type listenerMetrics struct {
	m         *Metrics
	name      string
	active    prometheus.Gauge
	conns     prometheus.Counter
	frames    prometheus.Counter
	discarded prometheus.Counter
	bytes     prometheus.Counter
}

func (m *Metrics) forListener(name string) *listenerMetrics {
	if m == nil {
		return nil
	}
	return &listenerMetrics{
		m:         m,
		name:      name,
		active:    m.active.WithLabelValues(name),
		conns:     m.conns.WithLabelValues(name),
		frames:    m.frames.WithLabelValues(name),
		discarded: m.discarded.WithLabelValues(name),
		bytes:     m.bytes.WithLabelValues(name),
	}
}

func (l *listenerMetrics) connOpened() {
	if l != nil {
		l.active.Inc()
		l.conns.Inc()
	}
}

func (l *listenerMetrics) connClosed() {
	if l != nil {
		l.active.Dec()
	}
}

func (l *listenerMetrics) frame(size int) {
	if l != nil {
		l.frames.Inc()
		l.bytes.Add(float64(size))
	}
}

func (l *listenerMetrics) discard(n int64) {
	if l != nil && n > 0 {
		l.discarded.Add(float64(n))
	}
}

func (l *listenerMetrics) frameError(reason string) {
	if l != nil {
		l.m.errors.WithLabelValues(l.name, reason).Inc()
	}
}
