package edge

import (
	"log/slog"
	"net"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/edge/netallow"
	"github.com/hl7gw/gateway/ingest/mllp"
)

// The doors, the `door` label of gateway_connections_rejected_total.
const (
	DoorMLLP = "mllp"
	DoorHTTP = "http"
	DoorGRPC = "grpc"
)

// MLLPRefusalMessage is the log message of a refused MLLP connection.
const MLLPRefusalMessage = "mllp connection rejected"

// Admission is the admission of a listener of door (DoorMLLP, DoorHTTP,
// DoorGRPC): c's allow-list and connection limits (the budget's where its
// settings leave them unset), refusals counted in
// gateway_connections_rejected_total{listener,door,reason} and logged, the
// first five per source and minute, then a count. A nil c (an HTTP
// listener serving only /metrics and the probes, or the profiler) still
// gets the budget's limits, under the listener name door.
func (b *Builder) Admission(c *Connector, door string) *netallow.Admission {
	name, maxConns, perSource := door, config.Derived, config.Derived
	var allow *netallow.List
	if c != nil {
		name, maxConns, perSource, allow = c.name, c.settings.MaxConnections, c.settings.Edge.MaxConnsPerSource, c.allow
	}
	total, source := b.o.Budget.Listener(maxConns, perSource)
	o := netallow.AdmissionOptions{Allow: allow, MaxConns: total, MaxConnsPerSource: source,
		OnReject: b.limits.OnReject(name, door)}
	if door == DoorMLLP {
		// As the MLLP server's own lines: connector and listener.
		o.Log, o.LogMessage = b.o.Logger.With(slog.String("connector", name), slog.String("listener", name)), MLLPRefusalMessage
	} else {
		o.Log = b.o.Logger.With(slog.String("connector", name), slog.String("door", door))
	}
	return netallow.NewAdmission(o)
}

// Listener wraps a plain listener of an HTTP or gRPC door (DoorHTTP,
// DoorGRPC) with its Admission, checked before any TLS work, and, for HTTP
// with TLS on, the TLS handshake (the gRPC server handshakes through
// GRPCOptions' credentials). c is nil for a listener without a connector.
func (b *Builder) Listener(c *Connector, door string, ln net.Listener) net.Listener {
	ln = netallow.LimitListener(ln, b.Admission(c, door))
	if door == DoorHTTP && c != nil && c.tls != nil {
		ln = c.tls.WrapListener(ln)
	}
	return ln
}

// MLLP applies the edge to an MLLP server's configuration: the TLS
// configuration (handshake failures counted by reason) and the
// listener's Admission.
func (c *Connector) MLLP(cfg mllp.ServerConfig) mllp.ServerConfig {
	if c.tls != nil {
		cfg.TLSConfig = c.tls.TLSConfig()
		cfg.OnTLSError = func(err error) { c.b.tls.HandshakeFailed(c.name, err) }
	}
	cfg.Admission = c.b.Admission(c, DoorMLLP)
	return cfg
}
