// Package limits counts and enforces the connection and stream limits of
// the gateway's doors: connections refused by a listener's admission
// (netallow.Admission, the same for MLLP, HTTP and gRPC) are counted in one
// family, and concurrent gRPC streams past a bound are answered
// RESOURCE_EXHAUSTED and counted there too.
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

	"github.com/hl7gw/gateway/edge/netallow"
)

// Metrics are the doors' limit metrics. A nil *Metrics
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
			Help: "Connections of every door (mllp, http, grpc) and gRPC streams refused at once, by reason (not_allowed, per_source_limit, max_conns, tls_handshake, shutdown, max_streams).",
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
func (m *Metrics) Rejected(listener, door string, reason netallow.Reason) {
	if m != nil {
		m.rejected.WithLabelValues(listener, door, string(reason)).Inc()
	}
}

// OnReject returns the netallow.AdmissionOptions.OnReject of a listener
// and door ("mllp", "http", "grpc"): it counts each refusal.
func (m *Metrics) OnReject(listener, door string) func(net.Addr, netallow.Reason) {
	return func(_ net.Addr, reason netallow.Reason) { m.Rejected(listener, door, reason) }
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
			m.Rejected(listener, "grpc", netallow.RejectMaxStreams)
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
func (m *Metrics) RejectedCounter(listener, door string, reason netallow.Reason) prometheus.Counter {
	return m.rejected.WithLabelValues(listener, door, string(reason))
}
