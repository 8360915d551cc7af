package auth

import (
	"fmt"
	"net/http"
	"strings"
)

// Rule is what the scope table says about one route or gRPC method.
type Rule struct {
	// Public routes need no credential (probes, metadata).
	Public bool
	// Scope is the scope a credential must carry; "" admits any valid
	// credential. Ignored for public routes.
	Scope string
}

var (
	public    = Rule{Public: true}
	hl7Write  = Rule{Scope: ScopeHL7Write}
	fhirWrite = Rule{Scope: ScopeFHIRWrite}
	admin     = Rule{Scope: ScopeAdmin}
	anyToken  = Rule{}
)

// HTTPRoute is one row of an HTTP scope table. Pattern is a net/http
// ServeMux pattern with a method ("POST /fhir/{type}"); a GET pattern also
// covers HEAD, as in ServeMux.
type HTTPRoute struct {
	Pattern string
	Rule
}

// GatewayRoutes is the scope table of the gateway's HTTP listener: the
// REST door's google.api.http bindings (with the scopes of their gRPC
// methods, GRPCMethods), the ops routes (/metrics, the probes,
// /connectors), FHIR metadata and the OpenAPI document. A request that
// matches no row is refused to every credential (deny by default);
// routes_test.go checks that every binding of the gateway's proto service
// has its row.
var GatewayRoutes = []HTTPRoute{
	// Probes and metrics, read by load balancers and Prometheus.
	{"GET /metrics", public},
	{"GET /healthz", public},
	{"GET /readyz", public},
	// Kafka Connect-style connectors API: reading is public, changing
	// needs gateway:admin.
	{"GET /connectors", public},
	{"GET /connectors/{name}", public},
	{"GET /connectors/{name}/status", public},
	{"PUT /connectors/{name}/pause", admin},
	{"PUT /connectors/{name}/resume", admin},
	{"POST /connectors/{name}/restart", admin},
	// FHIR clients read the CapabilityStatement before they authenticate
	// (SMART App Launch serves it without a token); the OpenAPI document
	// describes the API and holds no data.
	{"GET /fhir/metadata", public},
	{"GET /openapi.json", public},
	// The REST door: gateway.v1.GatewayService's HTTP bindings.
	{"POST /v1/hl7", hl7Write},
	{"POST /fhir", fhirWrite},
	{"POST /fhir/{resource_type}", fhirWrite},
	{"PUT /fhir/{resource_type}/{id}", fhirWrite},
	{"DELETE /fhir/{resource_type}/{id}", fhirWrite},
	// FHIR read, vread, history and search are not served (the FHIR door
	// answers them 404/405) but hold patient data on a real server: like
	// every /fhir route they need fhir:write.
	{"GET /fhir", fhirWrite},
	{"GET /fhir/", fhirWrite},
	// The other writes under /fhir (POST [type]/_search, operations,
	// conditional update or delete by search) are answered by the FHIR
	// door with 405 + Allow or 400 and an OperationOutcome; a client with
	// fhir:write gets that answer, not a refusal. PATCH has no row.
	{"POST /fhir/", fhirWrite},
	{"PUT /fhir/", fhirWrite},
	{"DELETE /fhir/", fhirWrite},
}

// RouteTable decides, for one HTTP request, which Rule applies. It matches
// patterns exactly as net/http's ServeMux does, on the canonical path
// (Canonical), so the route judged is the route served.
type RouteTable struct {
	mux   *http.ServeMux
	rules map[string]Rule
}

// NewRouteTable builds the table of routes. A malformed or duplicate
// pattern is an error.
func NewRouteTable(routes []HTTPRoute) (t *RouteTable, err error) {
	t = &RouteTable{mux: http.NewServeMux(), rules: make(map[string]Rule, len(routes))}
	defer func() {
		// ServeMux panics on bad and conflicting patterns.
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("auth: route table: %v", p)
		}
	}()
	for _, r := range routes {
		if _, dup := t.rules[r.Pattern]; dup {
			return nil, fmt.Errorf("auth: route table: pattern %q twice", r.Pattern)
		}
		m, path, ok := strings.Cut(r.Pattern, " ")
		if !ok || m == "" || strings.HasPrefix(r.Pattern, "/") {
			return nil, fmt.Errorf("auth: route table: pattern %q has no method", r.Pattern)
		}
		if strings.HasSuffix(path, "/") && strings.Contains(path, "{") {
			// Lookup's check against trailing-slash redirects compares
			// the literal prefix.
			return nil, fmt.Errorf("auth: route table: prefix pattern %q has a wildcard", r.Pattern)
		}
		t.rules[r.Pattern] = r.Rule
		t.mux.Handle(r.Pattern, http.NotFoundHandler())
	}
	return t, nil
}

// MustRouteTable is NewRouteTable for tables fixed in the program; it
// panics on an error.
func MustRouteTable(routes []HTTPRoute) *RouteTable {
	t, err := NewRouteTable(routes)
	if err != nil {
		panic(err)
	}
	return t
}

// GatewayRouteTable is GatewayRoutes as a RouteTable.
func GatewayRouteTable() *RouteTable { return MustRouteTable(GatewayRoutes) }

// Lookup returns the rule of r's method and path and the pattern that
// matched; ok is false when no row matches (refuse) or when the path is
// not canonical. The method is compared exactly ("get" is not GET).
func (t *RouteTable) Lookup(r *http.Request) (rule Rule, pattern string, ok bool) {
	if Canonical(r) != nil {
		return Rule{}, "", false
	}
	_, pattern = t.mux.Handler(r)
	rule, ok = t.rules[pattern]
	if _, path, _ := strings.Cut(pattern, " "); strings.HasSuffix(path, "/") && !strings.HasPrefix(r.URL.Path, path) {
		// ServeMux answers /x with a redirect to /x/ and names /x/'s
		// pattern: the path served is not the path asked for.
		return Rule{}, "", false
	}
	return rule, pattern, ok
}

// Scope returns the rule of the gRPC method or HTTP pattern name, for
// tests and documentation.
func (t *RouteTable) Scope(pattern string) (Rule, bool) {
	r, ok := t.rules[pattern]
	return r, ok
}

// PathError is the refusal of a request path that is not canonical.
type PathError struct {
	Reason string
}

func (e *PathError) Error() string { return "non-canonical request path: " + e.Reason }

// Canonical returns a *PathError when r's path is not canonical: the one
// form that net/http's ServeMux, grpc-gateway and this package's
// RouteTable all read the same way. A canonical path starts with '/', has
// no empty segment ("//"), no "." or ".." segment, and is written exactly
// as Go would escape its decoded form (RawPath empty): no percent-encoded
// '/', '.', or letters, nothing encoded that needs no encoding. Such a
// request is refused before any handler; clients send canonical paths.
func Canonical(r *http.Request) error {
	u := r.URL
	if u == nil {
		return &PathError{"no path"}
	}
	if u.RawPath != "" || u.Opaque != "" {
		return &PathError{"needless or encoded separators in the path"}
	}
	p := u.Path
	if !strings.HasPrefix(p, "/") {
		return &PathError{"the path must start with /"}
	}
	if strings.ContainsAny(p, "\\\x00") {
		return &PathError{"backslash or NUL in the path"}
	}
	for i, seg := range strings.Split(p[1:], "/") {
		switch seg {
		case "":
			if i == 0 && p == "/" {
				continue
			}
			if i == strings.Count(p, "/")-1 && !strings.HasSuffix(p, "//") {
				continue // one trailing slash, as in /fhir/
			}
			return &PathError{"empty path segment"}
		case ".", "..":
			return &PathError{"dot segment in the path"}
		}
	}
	return nil
}
