// Package edge builds what stands between a connector's listener and its
// pipelines, from the connector's settings: TLS (certificates reloaded from
// disk), the source allow-list and the connection limits (one
// netallow.Admission per listener, refusals counted in one metric family),
// bearer-token authentication with its scopes, and the request and stream
// bounds of the HTTP and gRPC doors. The gateway command only asks it for
// each listener's pieces (Builder.Connector, Builder.Listener,
// Connector.MLLP, Builder.HTTPServer, Connector.GRPCOptions).
//
// Loading a connector's certificates, allow-list, API key file or JWKS
// fails when any is bad, so that a misconfigured gateway does not start;
// their reload loops run on Options.Run until the gateway closes.
package edge

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/edge/auth"
	"github.com/hl7gw/gateway/edge/limits"
	"github.com/hl7gw/gateway/edge/netallow"
	"github.com/hl7gw/gateway/edge/tlsconf"
)

// Realm is the WWW-Authenticate realm of the gateway's doors.
const Realm = "hl7-gateway"

// Options configure a Builder.
type Options struct {
	// Registerer receives the edge metrics (TLS, auth, connection and
	// request limits), registered once by New. Required.
	Registerer prometheus.Registerer
	// Budget gives the connection limits the settings leave unset (see
	// FileBudget).
	Budget limits.Budget
	// Logger is where the edge logs (refusals, reloads); nil: slog.Default().
	Logger *slog.Logger
	// Run starts a background loop (certificate, API key file and JWKS
	// reloads) that must run until the gateway closes, with a context
	// cancelled then. Required when a connector has TLS or authentication.
	Run func(loop func(context.Context))
}

// Builder builds the edge of every connector of one gateway; it holds the
// metrics they share.
type Builder struct {
	o        Options
	tls      *tlsconf.Metrics
	auth     *auth.Metrics
	limits   *limits.Metrics
	requests *limits.RequestMetrics
}

// New registers the edge metrics with o.Registerer and returns a Builder.
// It panics if they are already registered there (a wiring bug).
func New(o Options) *Builder {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	reg := o.Registerer
	return &Builder{o: o, tls: tlsconf.NewMetrics(reg), auth: auth.NewMetrics(reg),
		limits: limits.NewMetrics(reg), requests: limits.NewRequestMetrics(reg)}
}

// Connector is the edge of one connector: its TLS, allow-list and
// authentication, and its settings' limits. A nil field is that piece
// turned off.
type Connector struct {
	b        *Builder
	name     string
	settings config.ConnectorSettings
	tls      *tlsconf.Reloader   // nil: plain TCP
	allow    *netallow.List      // nil: any source
	auth     *auth.Authenticator // nil: no token needed
}

// Name is the connector's name, the `listener` label of the edge metrics.
func (c *Connector) Name() string { return c.name }

// Connector loads the certificates, allow-list and credentials of the
// connector name with settings s (failing when any is bad) and starts
// their reload loops through Options.Run. alpn is the TLS ALPN list of its
// door (HTTP: h2 and http/1.1; none for MLLP and gRPC).
func (b *Builder) Connector(ctx context.Context, name string, s config.ConnectorSettings, alpn []string) (*Connector, error) {
	c := &Connector{b: b, name: name, settings: s}
	log := b.o.Logger.With(slog.String("connector", name))
	if t := s.Edge.TLS; t.Enabled() {
		r, err := tlsconf.New(name, tlsconf.Options{
			CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile, ClientAuth: t.ClientAuth,
			AllowedSubjects: t.AllowedSubjects, MinVersion: t.MinVersion, ReloadInterval: t.ReloadInterval, NextProtos: alpn,
		}, b.tls, log)
		if err != nil {
			return nil, fmt.Errorf("connector %s: tls: %w", name, err)
		}
		c.tls = r
		b.run(r.Run)
	}
	if len(s.Edge.SourceAllow) > 0 {
		l, err := netallow.Parse(s.Edge.SourceAllow)
		if err != nil {
			return nil, fmt.Errorf("connector %s: source.allow: %w", name, err)
		}
		c.allow = l
	}
	if a := s.Edge.Auth; a.Enabled() {
		// The key file is read here and re-read by Run when it changes.
		cfg := auth.Config{Realm: Realm, APIKeysFile: a.APIKeysFile, APIKeysReloadInterval: a.APIKeysReloadInterval}
		if a.JWKSFile != "" || a.JWKSURL != "" {
			cfg.JWT = &auth.JWTConfig{JWKSFile: a.JWKSFile, JWKSURL: a.JWKSURL, Issuer: a.Issuer, Audience: a.Audience, Leeway: a.Leeway}
		}
		au, err := auth.New(ctx, cfg, b.auth, log)
		if err != nil {
			return nil, fmt.Errorf("connector %s: auth: %w", name, err)
		}
		c.auth = au
		b.run(au.Run)
	}
	return c, nil
}

func (b *Builder) run(loop func(context.Context)) {
	if b.o.Run == nil {
		panic("edge: Options.Run is nil and a connector needs a reload loop")
	}
	b.o.Run(loop)
}
