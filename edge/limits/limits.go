// Package limits counts and enforces the connection and stream limits of
// the gateway's HTTP and gRPC doors (the MLLP server enforces its own):
// connections refused by a source allow-list or a connection limit, and
// concurrent gRPC streams past a bound, answered RESOURCE_EXHAUSTED.
//
// Everything here is safe for concurrent use; nothing blocks.
package limits

import (
	"net"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ReasonStreams is the `reason` label of a gRPC stream refused by
// StreamLimit.
const ReasonStreams = "max_streams"

// Metrics are the HTTP and gRPC doors' limit metrics. A nil *Metrics
// records nothing.
type Metrics struct {
	rejected *prometheus.CounterVec
	streams  *prometheus.GaugeVec
}

// NewMetrics creates and registers with reg:
// gateway_connections_rejected_total{listener,door,reason} and
// gateway_grpc_streams_active{listener}.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_connections_rejected_total",
			Help: "HTTP and gRPC connections (and gRPC streams) refused at once, by reason (not_allowed, per_source_limit, max_conns, max_streams).",
		}, []string{"listener", "door", "reason"}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gateway_grpc_streams_active",
			Help: "gRPC streaming calls (StreamHL7) currently open.",
		}, []string{"listener"}),
	}
	reg.MustRegister(m.rejected, m.streams)
	return m
}

// Rejected counts one refusal.
func (m *Metrics) Rejected(listener, door, reason string) {
	if m != nil {
		m.rejected.WithLabelValues(listener, door, reason).Inc()
	}
}

// OnReject returns a callback for netallow.LimitListener that counts each
// refused connection of listener and door ("http", "grpc") and calls log
// (may be nil) with the remote address and reason.
func (m *Metrics) OnReject(listener, door string, log func(addr net.Addr, reason string)) func(net.Addr, string) {
	return func(addr net.Addr, reason string) {
		m.Rejected(listener, door, reason)
		if log != nil {
			log(addr, reason)
		}
	}
}

// StreamLimit returns a stream interceptor that lets at most max streaming
// calls run at once on listener and answers the next ones at once with
// RESOURCE_EXHAUSTED, counted with reason max_streams (max <= 0: no
// limit, only the gauge). Health watches are exempt: a probe must never be
// refused. Unary calls are bounded elsewhere (the pipeline's in-flight
// limit).
func (m *Metrics) StreamLimit(listener string, max int) grpc.StreamServerInterceptor {
	var open atomic.Int64
	var gauge prometheus.Gauge
	if m != nil {
		gauge = m.streams.WithLabelValues(listener)
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if strings.HasPrefix(info.FullMethod, "/grpc.health.v1.Health/") {
			return handler(srv, ss)
		}
		if n := open.Add(1); max > 0 && n > int64(max) {
			open.Add(-1)
			m.Rejected(listener, "grpc", ReasonStreams)
			return status.Errorf(codes.ResourceExhausted, "too many concurrent streams on this listener (limit %d); retry later", max)
		}
		if gauge != nil {
			gauge.Inc()
			defer gauge.Dec()
		}
		defer open.Add(-1)
		return handler(srv, ss)
	}
}

// Streams is the gauge of open streams of listener (for tests and
// dashboards built in code).
func (m *Metrics) Streams(listener string) prometheus.Gauge {
	return m.streams.WithLabelValues(listener)
}

// RejectedCounter is the refusal counter of listener, door and reason.
func (m *Metrics) RejectedCounter(listener, door, reason string) prometheus.Counter {
	return m.rejected.WithLabelValues(listener, door, reason)
}
