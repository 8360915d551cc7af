package auth

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	_ "google.golang.org/grpc/health/grpc_health_v1"
	_ "google.golang.org/grpc/reflection/grpc_reflection_v1"
	_ "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/hl7gw/gateway/proto/gateway/v1"
)

// servedPackages are the proto packages whose services the gRPC door
// serves (ingest/api.NewGRPCServer): every service of the gateway's own
// package, health and both reflection versions.
var servedPackages = []protoreflect.FullName{
	"gateway.v1", "grpc.health.v1", "grpc.reflection.v1", "grpc.reflection.v1alpha",
}

// servedMethods reads every method of servedPackages from the generated
// Go registry: adding an rpc to gateway.proto and running `make proto`
// adds it here.
func servedMethods(t *testing.T) map[string]protoreflect.MethodDescriptor {
	t.Helper()
	out := map[string]protoreflect.MethodDescriptor{}
	for _, pkg := range servedPackages {
		n := 0
		protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(f protoreflect.FileDescriptor) bool {
			for i := range f.Services().Len() {
				s := f.Services().Get(i)
				for j := range s.Methods().Len() {
					m := s.Methods().Get(j)
					out["/"+string(s.FullName())+"/"+string(m.Name())] = m
					n++
				}
			}
			return true
		})
		if n == 0 {
			t.Fatalf("no methods of package %s in the registry: is its Go package imported?", pkg)
		}
	}
	return out
}

func TestEveryServedGRPCMethodHasARowAndEveryRowAMethod(t *testing.T) {
	served := servedMethods(t)
	for name := range served {
		if _, ok := GRPCMethods[name]; !ok {
			t.Errorf("gRPC method %s has no row in auth.GRPCMethods: it is refused to every token; give it a scope", name)
		}
	}
	for name := range GRPCMethods {
		if _, ok := served[name]; !ok {
			t.Errorf("auth.GRPCMethods row %s names no method of the service descriptors", name)
		}
	}
	if len(served) < 10 {
		t.Fatalf("only %d methods read from the descriptors", len(served))
	}
}

// httpBinding is one google.api.http binding of a method.
type httpBinding struct {
	method, path, rpc string
}

// bindings reads the google.api.http options (additional bindings too) of
// every gateway.v1 method.
func bindings(t *testing.T, served map[string]protoreflect.MethodDescriptor) []httpBinding {
	t.Helper()
	var out []httpBinding
	for name, m := range served {
		if !strings.HasPrefix(name, "/gateway.v1.") {
			continue
		}
		rule, _ := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule)
		if rule == nil {
			continue
		}
		for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
			var method, path string
			switch p := r.GetPattern().(type) {
			case *annotations.HttpRule_Get:
				method, path = http.MethodGet, p.Get
			case *annotations.HttpRule_Put:
				method, path = http.MethodPut, p.Put
			case *annotations.HttpRule_Post:
				method, path = http.MethodPost, p.Post
			case *annotations.HttpRule_Delete:
				method, path = http.MethodDelete, p.Delete
			case *annotations.HttpRule_Patch:
				method, path = http.MethodPatch, p.Patch
			case *annotations.HttpRule_Custom:
				method, path = p.Custom.GetKind(), p.Custom.GetPath()
			default:
				t.Fatalf("%s: a google.api.http binding without a pattern", name)
			}
			out = append(out, httpBinding{method, path, name})
		}
	}
	return out
}

// simpleVar is a path template variable ServeMux patterns can say: one
// whole segment, {name}.
var simpleVar = regexp.MustCompile(`\{[a-z_][a-z0-9_.]*\}`)

func TestEveryHTTPBindingHasTheRowOfItsMethod(t *testing.T) {
	table := GatewayRouteTable()
	bs := bindings(t, servedMethods(t))
	if len(bs) < 5 {
		t.Fatalf("only %d google.api.http bindings read from the descriptors", len(bs))
	}
	for _, b := range bs {
		pattern := b.method + " " + b.path
		t.Run(pattern, func(t *testing.T) {
			if strings.ContainsAny(simpleVar.ReplaceAllString(b.path, ""), "{}*:=") {
				t.Fatalf("template %s is not a plain path of {name} segments: teach auth.GatewayRoutes and this test its form", b.path)
			}
			want := GRPCMethods[b.rpc]
			rule, ok := table.Scope(pattern)
			if !ok {
				t.Fatalf("%s (%s) has no row in auth.GatewayRoutes: it is refused to every token; add {%q, <the scope of %s>}", pattern, b.rpc, pattern, b.rpc)
			}
			if rule != want || rule.Public {
				t.Fatalf("row %s is %+v, but its method %s has %+v (and REST writes are never public)", pattern, rule, b.rpc, want)
			}
			// The row is also the one a request for this route finds.
			concrete := simpleVar.ReplaceAllString(b.path, "x1")
			r := httptest.NewRequest(b.method, "http://gw"+concrete, nil)
			if got, p, ok := table.Lookup(r); !ok || p != pattern || got != want {
				t.Fatalf("%s %s finds row %q (%+v, %v), want %q", b.method, concrete, p, got, ok, pattern)
			}
		})
	}
}

func TestRouteTablesRefuseWhatTheyDoNotName(t *testing.T) {
	table := MustRouteTable([]HTTPRoute{{"GET /a", public}, {"POST /b/{id}", hl7Write}, {"GET /c/", fhirWrite}})
	for _, tt := range []struct {
		method, path string
		routed       bool
	}{
		{"GET", "/a", true},
		{"HEAD", "/a", true},
		{"POST", "/a", false},
		{"POST", "/b/1", true},
		{"POST", "/b/1/2", false},
		{"GET", "/c/d/e", true},
		{"GET", "/c", false}, // ServeMux would redirect to /c/: not the path asked for
		{"GET", "/d", false},
	} {
		r := httptest.NewRequest(tt.method, "http://gw"+tt.path, nil)
		if _, p, ok := table.Lookup(r); ok != tt.routed {
			t.Errorf("%s %s: routed %v (row %q), want %v", tt.method, tt.path, ok, p, tt.routed)
		}
	}
	for _, bad := range [][]HTTPRoute{
		{{"/a", public}},
		{{"GET /a", public}, {"GET /a", hl7Write}},
		{{"GET /a/{x}/", public}},
		{{"GET /a/{", public}},
	} {
		if _, err := NewRouteTable(bad); err == nil {
			t.Errorf("NewRouteTable(%v) accepted a bad table", bad)
		}
	}
	publics := []string{}
	for _, r := range GatewayRoutes {
		if r.Public {
			publics = append(publics, r.Pattern)
		}
	}
	slices.Sort(publics)
	want := []string{"GET /connectors", "GET /connectors/{name}", "GET /connectors/{name}/status", "GET /fhir/metadata",
		"GET /healthz", "GET /metrics", "GET /openapi.json", "GET /readyz"}
	if !slices.Equal(publics, want) {
		t.Fatalf("public rows %q, want exactly %q: a new public route is a security decision, make it here", publics, want)
	}
}

func TestNonCanonicalPathsNeverReachAHandler(t *testing.T) {
	reached := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached++ })
	a := newTestAuthenticator(t)
	handlers := map[string]http.Handler{
		"with authentication":    a.HTTPMiddleware("fhir-rest", GatewayRouteTable(), next),
		"without authentication": (*Authenticator)(nil).HTTPMiddleware("fhir-rest", GatewayRouteTable(), next),
	}
	paths := []string{"/fhir/%2e%2e/metrics", "/fhir/%2E%2E/healthz", "/fhir/%2e%2E/readyz", "/fhir/../metrics",
		"/fhir/./Patient", "//fhir/Patient", "/fhir//Patient", "/fhir%2fPatient", "/fhir/Patient%2F1", "/%66hir/Patient",
		"/fhir/%2e%2e%2fmetrics", "/metrics/.", "/connectors/%2e%2e/metrics"}
	for name, h := range handlers {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
			for _, p := range paths {
				for _, key := range []string{"", "Bearer not-a-key", "Bearer " + testFHIRKey} {
					w := httptest.NewRecorder()
					r := rawRequest(t, method, p)
					if key != "" {
						r.Header.Set("Authorization", key)
					}
					h.ServeHTTP(w, r)
					want := http.StatusBadRequest
					if name == "with authentication" && !strings.HasSuffix(key, testFHIRKey) {
						want = http.StatusUnauthorized
					}
					if w.Code != want {
						t.Errorf("%s: %s %s with %q answered %d, want %d", name, method, p, key, w.Code, want)
					}
				}
			}
		}
	}
	if reached != 0 {
		t.Fatalf("%d non-canonical requests reached the handler", reached)
	}
	// A canonical path with a valid credential but no row is refused too.
	w := httptest.NewRecorder()
	r := rawRequest(t, "PATCH", "/fhir/Patient/1")
	r.Header.Set("Authorization", "Bearer "+testFHIRKey)
	handlers["with authentication"].ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || reached != 0 || !strings.Contains(w.Body.String(), "no scope is defined for this route") {
		t.Fatalf("PATCH with a fhir:write key: %d %s (handler reached %d times), want 403", w.Code, w.Body, reached)
	}
}

// testFHIRKey is the API key of newTestAuthenticator, with fhir:write.
const testFHIRKey = "ehr-key-3b9a61c04d7e28f5"

func newTestAuthenticator(t *testing.T) *Authenticator {
	t.Helper()
	a, err := New(t.Context(), Config{APIKeys: []APIKey{{Name: "ehr", Hash: HashKey(testFHIRKey), Scopes: []string{ScopeFHIRWrite}}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
