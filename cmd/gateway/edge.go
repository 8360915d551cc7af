package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/edge/auth"
	"github.com/hl7gw/gateway/edge/limits"
	"github.com/hl7gw/gateway/edge/netallow"
	"github.com/hl7gw/gateway/edge/tlsconf"
	"github.com/hl7gw/gateway/ingest/mllp"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// doorEdge is what stands between a connector's listener and its
// pipelines: TLS, the source allow-list and limits, and bearer tokens.
// Zero fields mean "off".
type doorEdge struct {
	name     string
	settings config.ConnectorSettings
	tls      *tlsconf.Reloader   // nil: plain TCP
	allow    *netallow.List      // nil: any source
	auth     *auth.Authenticator // nil: no token needed
	budget   limits.Budget       // connection limits the settings leave unset
}

// buildEdge loads a connector's certificates, allow-list and credentials
// (failing start when any is bad) and starts their reload loops
// (certificates, API key file, JWKS), which end when the gateway closes.
// alpn is the TLS ALPN list of the door (HTTP: h2 and http/1.1; none for
// MLLP).
func (g *gateway) buildEdge(ctx context.Context, name string, s config.ConnectorSettings, alpn []string) (*doorEdge, error) {
	e := &doorEdge{name: name, settings: s, budget: g.budget}
	if t := s.Edge.TLS; t.Enabled() {
		r, err := tlsconf.New(name, tlsconf.Options{
			CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile, ClientAuth: t.ClientAuth,
			AllowedSubjects: t.AllowedSubjects, MinVersion: t.MinVersion, ReloadInterval: t.ReloadInterval, NextProtos: alpn,
		}, g.edgeMetrics().tls, g.log.With(slog.String("connector", name)))
		if err != nil {
			return nil, fmt.Errorf("connector %s: tls: %w", name, err)
		}
		e.tls = r
		g.background(r.Run)
	}
	if len(s.Edge.SourceAllow) > 0 {
		l, err := netallow.Parse(s.Edge.SourceAllow)
		if err != nil {
			return nil, fmt.Errorf("connector %s: source.allow: %w", name, err)
		}
		e.allow = l
	}
	if a := s.Edge.Auth; a.Enabled() {
		// The key file is read here and re-read by Run when it changes.
		cfg := auth.Config{Realm: "hl7-gateway", APIKeysFile: a.APIKeysFile, APIKeysReloadInterval: a.APIKeysReloadInterval}
		if a.JWKSFile != "" || a.JWKSURL != "" {
			cfg.JWT = &auth.JWTConfig{JWKSFile: a.JWKSFile, JWKSURL: a.JWKSURL, Issuer: a.Issuer, Audience: a.Audience, Leeway: a.Leeway}
		}
		au, err := auth.New(ctx, cfg, g.edgeMetrics().auth, g.log.With(slog.String("connector", name)))
		if err != nil {
			return nil, fmt.Errorf("connector %s: auth: %w", name, err)
		}
		e.auth = au
		g.background(au.Run)
	}
	return e, nil
}

// mllpConfig applies the edge to an MLLP server's configuration.
func (g *gateway) mllpConfig(e *doorEdge, cfg mllp.ServerConfig) mllp.ServerConfig {
	if e.tls != nil {
		cfg.TLSConfig = e.tls.TLSConfig()
		cfg.OnTLSError = func(err error) { g.edgeMetrics().tls.HandshakeFailed(e.name, err) }
	}
	cfg.Admission = g.admission(e, "mllp")
	return cfg
}

// admission is the admission of a listener of door ("mllp", "http",
// "grpc"): the connector's allow-list and connection limits (the budget's
// where the settings leave them unset), refusals counted in
// gateway_connections_rejected_total and logged, the first few per source
// and minute, then a count. A nil e (an HTTP listener serving only
// /metrics and the probes, or the profiler) still gets the budget's
// limits, under the listener name "http".
func (g *gateway) admission(e *doorEdge, door string) *netallow.Admission {
	name, maxConns, perSource := door, config.Derived, config.Derived
	var allow *netallow.List
	if e != nil {
		name, maxConns, perSource, allow = e.name, e.settings.MaxConnections, e.settings.Edge.MaxConnsPerSource, e.allow
	}
	total, source := g.budget.Listener(maxConns, perSource)
	o := netallow.AdmissionOptions{Allow: allow, MaxConns: total, MaxConnsPerSource: source,
		OnReject: g.edgeMetrics().limits.OnReject(name, door)}
	if door == "mllp" {
		o.Log, o.LogMessage = g.log.With(slog.String("connector", name), slog.String("listener", name)), "mllp connection rejected"
	} else {
		o.Log = g.log.With(slog.String("connector", name), slog.String("door", door))
	}
	return netallow.NewAdmission(o)
}

// edgeListener wraps a plain listener of an HTTP or gRPC door with its
// admission (checked before any TLS work) and, for HTTP, TLS. door is
// "http" or "grpc"; e is nil for a listener without a connector.
func (g *gateway) edgeListener(e *doorEdge, door string, ln net.Listener) net.Listener {
	ln = netallow.LimitListener(ln, g.admission(e, door))
	if door == "http" && e != nil && e.tls != nil {
		ln = e.tls.WrapListener(ln)
	}
	return ln
}

// httpHandler puts the one decision point of the listener in front of h:
// paths that are not canonical are refused before any handler, and with
// authentication on, auth.GatewayRoutes gives every route its scope (FHIR
// routes fhir:write, /v1/hl7 hl7:write, changing a connector
// gateway:admin; /metrics, the probes, reading /connectors, FHIR metadata
// and the OpenAPI document are public; anything else is refused).
func (e *doorEdge) httpHandler(h http.Handler) http.Handler {
	if e == nil || e.auth == nil {
		return auth.CanonicalPaths(h)
	}
	return e.auth.HTTPMiddleware(e.name, auth.GatewayRouteTable(), h)
}

// grpcHTTP2Streams caps HTTP/2 streams (calls, unary ones included) per
// gRPC connection. It is not grpc.max.concurrent.streams: past an HTTP/2
// cap a client queues its calls silently, while the gateway's stream
// bound must answer RESOURCE_EXHAUSTED at once.
const grpcHTTP2Streams = 1000

// grpcOptions are the gRPC server options of the edge: TLS credentials,
// authentication (before anything else runs), the stream bound, and
// keepalive enforcement with the connection idle and age limits.
func (g *gateway) grpcOptions(e *doorEdge) []grpc.ServerOption {
	s := e.settings
	opts := []grpc.ServerOption{
		grpc.StatsHandler(g.edgeMetrics().requests.GRPC(e.name, grpcMethods())),
		grpc.MaxConcurrentStreams(uint32(max(grpcHTTP2Streams, s.Edge.MaxStreams))),
		grpc.ChainUnaryInterceptor(e.auth.UnaryInterceptor(e.name)),
		grpc.ChainStreamInterceptor(e.auth.StreamInterceptor(e.name), g.edgeMetrics().limits.StreamLimit(e.name, s.Edge.MaxStreams)),
		// Unknown methods are answered through the interceptors and counted.
		grpc.UnknownServiceHandler(limits.UnknownMethod),
	}
	opts = append(opts, limits.GRPCKeepalive(limits.ConnLifetime{MaxIdle: s.Edge.MaxConnIdle, MaxAge: s.Edge.MaxConnAge, MaxAgeGrace: s.Edge.MaxConnAgeGrace})...)
	if e.tls != nil {
		opts = append(opts, grpc.Creds(e.tls.GRPCCredentials()))
	}
	return opts
}

// grpcMethods are the full names of the methods a grpc connector serves,
// the label values of gateway_grpc_calls_total.
func grpcMethods() []string {
	var out []string
	for _, d := range []grpc.ServiceDesc{gatewayv1.GatewayService_ServiceDesc, healthpb.Health_ServiceDesc,
		reflectionv1.ServerReflection_ServiceDesc, reflectionv1alpha.ServerReflection_ServiceDesc} {
		for _, m := range d.Methods {
			out = append(out, "/"+d.ServiceName+"/"+m.MethodName)
		}
		for _, st := range d.Streams {
			out = append(out, "/"+d.ServiceName+"/"+st.StreamName)
		}
	}
	return out
}

// edgeMetricSet are the edge packages' metrics, created once per gateway.
type edgeMetricSet struct {
	tls      *tlsconf.Metrics
	auth     *auth.Metrics
	limits   *limits.Metrics
	requests *limits.RequestMetrics
}

func (g *gateway) edgeMetrics() *edgeMetricSet {
	if g.em == nil {
		g.em = &edgeMetricSet{tls: tlsconf.NewMetrics(g.reg), auth: auth.NewMetrics(g.reg),
			limits: limits.NewMetrics(g.reg), requests: limits.NewRequestMetrics(g.reg)}
	}
	return g.em
}

// background runs f until the gateway closes.
func (g *gateway) background(f func(context.Context)) {
	g.wg.Go(func() { f(g.bg) })
}
