package edge

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/hl7gw/gateway/edge/auth"
)

// Timeouts of an HTTP listener without a connector (the one serving
// /metrics and the probes, the profiler), and bounds the connector's own
// cannot exceed.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpIdleTimeout       = 2 * time.Minute
)

// HTTPServer returns the server of an HTTP listener whose routes are h.
// With a connector c (a fhir-rest connector) h is put behind the edge: its
// responses counted by status (outside authentication, so that 401 and
// 403 are counted too), then the one decision point of the listener (see
// Connector.HTTPHandler), and the connector's read and idle timeouts
// apply. A nil c serves h as it is. Either way a handler's panic is
// answered 500 (see recoverHTTP). Server errors are logged at Warn.
func (b *Builder) HTTPServer(c *Connector, h http.Handler) *http.Server {
	srv := &http.Server{ReadHeaderTimeout: httpReadHeaderTimeout, IdleTimeout: httpIdleTimeout,
		ErrorLog: slog.NewLogLogger(b.o.Logger.Handler(), slog.LevelWarn)}
	if c == nil {
		srv.Handler = recoverHTTP(b.o.Logger, "", h)
	} else {
		srv.Handler = b.requests.HTTP(c.name, recoverHTTP(b.o.Logger, c.name, c.HTTPHandler(h)))
		srv.ReadTimeout, srv.IdleTimeout = c.settings.Edge.HTTPReadTimeout, c.settings.Edge.HTTPIdleTimeout
		srv.ReadHeaderTimeout = min(srv.ReadHeaderTimeout, srv.ReadTimeout)
	}
	return srv
}

// HTTPHandler puts the one decision point of the listener in front of h:
// paths that are not canonical are refused before any handler, and with
// authentication on, auth.GatewayRoutes gives every route its scope (FHIR
// routes fhir:write, /v1/hl7 hl7:write, changing a connector
// gateway:admin; /metrics, the probes, reading /connectors, FHIR metadata
// and the OpenAPI document are public; anything else is refused).
func (c *Connector) HTTPHandler(h http.Handler) http.Handler {
	if c.auth == nil {
		return auth.CanonicalPaths(h)
	}
	return c.auth.HTTPMiddleware(c.name, auth.GatewayRouteTable(), h)
}
