package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/edge/auth"
)

// opsPattern names the ops mux's route for r, following the /connectors
// mount into the connectors API's own mux; "" when nothing serves r.
func opsPattern(t *testing.T, g *gateway, m *http.ServeMux, r *http.Request) string {
	t.Helper()
	_, p := m.Handler(r)
	if p == "/connectors" || p == "/connectors/" {
		inner, ok := g.conns.Handler().(*http.ServeMux)
		if !ok {
			t.Fatalf("the connectors API is a %T, not a ServeMux: teach this test its routes", g.conns.Handler())
		}
		_, p = inner.Handler(r)
	}
	return p
}

// TestEveryOpsRouteHasItsRowInTheScopeTable walks the ops routes (what
// mountOps serves beside the REST door: /metrics, the probes, /connectors,
// the OpenAPI document) against auth.GatewayRoutes: every route served for
// a probed method and path must be the pattern of a row, and every row
// outside /fhir and /v1 (the REST door's, checked against the proto
// descriptors in edge/auth) must be served. Without a row a route is
// refused to every token.
func TestEveryOpsRouteHasItsRowInTheScopeTable(t *testing.T) {
	g := &gateway{cfg: config.Default(), reg: prometheus.NewRegistry(), log: slog.New(slog.DiscardHandler)}
	m := http.NewServeMux()
	g.mountOps(m)
	table := auth.GatewayRouteTable()

	wildcard := regexp.MustCompile(`\{[^}]*\}`)
	paths := map[string]bool{"/": true, "/debug/pprof/": true, "/connector-plugins": true}
	// Kafka Connect's REST API, which /connectors follows: its routes are
	// the likely next ones.
	for _, sub := range []string{"", "/config", "/status", "/pause", "/resume", "/restart", "/stop", "/tasks",
		"/tasks/0/status", "/tasks/0/restart", "/topics", "/topics/reset", "/offsets"} {
		paths["/connectors/adt"+sub] = true
	}
	for _, r := range auth.GatewayRoutes {
		_, path, _ := strings.Cut(r.Pattern, " ")
		path = wildcard.ReplaceAllString(path, "adt")
		paths[path] = true
		paths[strings.TrimSuffix(path, "/")+"/x"] = true
	}
	served := map[string]bool{}
	for path := range paths {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
			r := httptest.NewRequest(method, "http://gw"+path, nil)
			p := opsPattern(t, g, m, r)
			if p == "" {
				continue
			}
			served[p] = true
			if _, ok := table.Scope(p); !ok {
				t.Errorf("%s %s is served by %q, which has no row in auth.GatewayRoutes", method, path, p)
				continue
			}
			if _, row, ok := table.Lookup(r); !ok || row != p {
				t.Errorf("%s %s: served by %q but judged by row %q", method, path, p, row)
			}
		}
	}
	for _, r := range auth.GatewayRoutes {
		_, path, _ := strings.Cut(r.Pattern, " ")
		if strings.HasPrefix(path, "/fhir") || strings.HasPrefix(path, "/v1/") {
			continue
		}
		if !served[r.Pattern] {
			t.Errorf("row %q of auth.GatewayRoutes is not an ops route", r.Pattern)
		}
	}
}
