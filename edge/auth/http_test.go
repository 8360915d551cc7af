package auth

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hl7gw/gateway/edge/auth/authtest"
	"github.com/hl7gw/gateway/edge/netallow"
	"github.com/hl7gw/gateway/internal/metrictest"
)

// principalEcho is the next handler: 200 and the principal's name and kind.
var principalEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := PrincipalFrom(r.Context())
	_, _ = io.WriteString(w, p.Name+"/"+p.Kind)
	if !ok {
		_, _ = io.WriteString(w, "anonymous")
	}
})

const opsKey = "ops-key-5f2c9e0d1a7b4c3e"

func TestHTTPMiddlewareOverARealServer(t *testing.T) {
	reg := prometheus.NewRegistry()
	log, logs := newTestLogger()
	a, err := New(context.Background(), Config{
		APIKeys: []APIKey{{Name: "ops", Hash: HashKey(opsKey), Scopes: []string{ScopeAdmin, ScopeHL7Write}}},
		JWT:     &JWTConfig{JWKSFile: authtest.WriteJWKS(t, t.TempDir()), Issuer: authtest.Issuer, Audience: authtest.Audience},
	}, NewMetrics(reg), log)
	if err != nil {
		t.Fatal(err)
	}
	a.refusals = netallow.NewRefusalLog(log, netallow.RefusalLogOptions{First: 1000}) // log every refusal: sampling has its own test
	srv := httptest.NewServer(a.HTTPMiddleware("fhir-rest", GatewayRouteTable(), principalEcho))
	defer srv.Close()

	fhirToken := authtest.Token(t, authtest.Claims("ehr-1", ScopeFHIRWrite))
	hl7Token := authtest.Token(t, authtest.Claims("lab-1", ScopeHL7Write))
	expired := authtest.Token(t, authtest.Expired(authtest.Claims("ehr-1", ScopeFHIRWrite)))
	tests := []struct {
		name          string
		method, path  string
		authorization []string
		wantStatus    int
		wantBody      string // the echo, or the OperationOutcome's diagnostics
		wantChallenge string // WWW-Authenticate, exactly
		wantReason    string // the failure counted, "" for none
	}{
		{"no credentials get a challenge without error", "POST", "/fhir/Patient", nil,
			401, "missing bearer token", `Bearer realm="gateway"`, "missing"},
		{"a forged token is invalid_token", "POST", "/fhir/Patient", []string{"Bearer " + fhirToken[:len(fhirToken)-4] + "AAAA"},
			401, "bad token signature", `Bearer realm="gateway", error="invalid_token", error_description="bad token signature"`, "invalid"},
		{"an unknown API key is invalid_token", "POST", "/v1/hl7", []string{"Bearer not-a-key"},
			401, "unknown API key", `Bearer realm="gateway", error="invalid_token", error_description="unknown API key"`, "invalid"},
		{"two Authorization headers are invalid_token", "POST", "/fhir", []string{"Bearer " + fhirToken, "Bearer " + fhirToken},
			401, "more than one authorization value", `Bearer realm="gateway", error="invalid_token", error_description="more than one authorization value"`, "invalid"},
		{"an expired token is invalid_token", "PUT", "/fhir/Patient/p1", []string{"Bearer " + expired},
			401, "token expired", `Bearer realm="gateway", error="invalid_token", error_description="token expired"`, "expired"},
		{"an hl7:write token on /fhir is insufficient_scope", "POST", "/fhir/Patient", []string{"Bearer " + hl7Token},
			403, "credentials lack scope fhir:write", `Bearer realm="gateway", error="insufficient_scope", error_description="credentials lack scope fhir:write", scope="fhir:write"`, "insufficient_scope"},
		{"a fhir:write token on /fhir reaches the handler", "POST", "/fhir/Patient", []string{"Bearer " + fhirToken},
			200, "ehr-1/jwt", "", ""},
		{"an API key with hl7:write on /v1/hl7 reaches the handler", "POST", "/v1/hl7", []string{"Bearer " + opsKey},
			200, "ops/api_key", "", ""},
		{"healthz is public", "GET", "/healthz", nil, 200, "/anonymous", "", ""},
		{"listing connectors is public", "GET", "/connectors", nil, 200, "/anonymous", "", ""},
		{"pausing a connector needs gateway:admin", "PUT", "/connectors/adt/pause", []string{"Bearer " + fhirToken},
			403, "credentials lack scope gateway:admin", `Bearer realm="gateway", error="insufficient_scope", error_description="credentials lack scope gateway:admin", scope="gateway:admin"`, "insufficient_scope"},
		{"an admin key may pause a connector", "PUT", "/connectors/adt/pause", []string{"Bearer " + opsKey}, 200, "ops/api_key", "", ""},
		{"another path needs any valid token", "GET", "/v1/other", nil,
			401, "missing bearer token", `Bearer realm="gateway"`, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := metrictest.Value(t, reg, "gateway_auth_failures_total", map[string]string{"door": "fhir-rest", "reason": tt.wantReason})
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader("{}"))
			for _, v := range tt.authorization {
				req.Header.Add("Authorization", v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.wantChallenge)
			}
			if tt.wantStatus == 200 {
				if string(body) != tt.wantBody {
					t.Fatalf("body %q, want %q", body, tt.wantBody)
				}
				return
			}
			checkOutcome(t, resp, body, tt.wantStatus, tt.wantBody)
			if got := metrictest.Value(t, reg, "gateway_auth_failures_total", map[string]string{"door": "fhir-rest", "reason": tt.wantReason}); got != before+1 {
				t.Fatalf("gateway_auth_failures_total{reason=%q} = %v, want %v", tt.wantReason, got, before+1)
			}
		})
	}
	if got := metrictest.Value(t, reg, "gateway_auth_success_total", map[string]string{"door": "fhir-rest", "kind": "jwt"}); got != 1 {
		t.Errorf("jwt successes %v, want 1", got)
	}
	if got := metrictest.Value(t, reg, "gateway_auth_success_total", map[string]string{"door": "fhir-rest", "kind": "api_key"}); got != 2 {
		t.Errorf("api_key successes %v, want 2", got)
	}
	out := logs.String()
	for _, secret := range []string{fhirToken, hl7Token, expired, opsKey, "not-a-key"} {
		if strings.Contains(out, secret) {
			t.Fatalf("a credential was logged: %s", out)
		}
	}
	for _, want := range []string{"level=WARN", "door=fhir-rest", "reason=expired", "reason=insufficient_scope", "principal=lab-1", "remote=127.0.0.1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

// checkOutcome checks a refusal's body: a FHIR OperationOutcome with one
// error issue, login (401) or forbidden (403), and the diagnostics.
func checkOutcome(t *testing.T, resp *http.Response, body []byte, status int, diagnostics string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/fhir+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Severity, Code, Diagnostics string
		} `json:"issue"`
	}
	if err := json.Unmarshal(body, &oo); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	code := map[int]string{401: "login", 403: "forbidden"}[status]
	if oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 || oo.Issue[0].Severity != "error" ||
		oo.Issue[0].Code != code || oo.Issue[0].Diagnostics != diagnostics {
		t.Fatalf("OperationOutcome %s, want code %s and diagnostics %q", body, code, diagnostics)
	}
}

func TestGatewayRouteTable(t *testing.T) {
	table := GatewayRouteTable()
	fhir, hl7, adm := Rule{Scope: ScopeFHIRWrite}, Rule{Scope: ScopeHL7Write}, Rule{Scope: ScopeAdmin}
	tests := []struct {
		name         string
		method, path string // path as sent on the wire
		want         Rule
		routed       bool
	}{
		{"a Bundle POST needs fhir:write", "POST", "/fhir", fhir, true},
		{"an update needs fhir:write", "PUT", "/fhir/Patient/1", fhir, true},
		{"an id with an escaped space is the same route", "PUT", "/fhir/Patient/a%20b", fhir, true},
		{"a FHIR read needs fhir:write", "GET", "/fhir/Patient/1", fhir, true},
		{"FHIR metadata is public", "GET", "/fhir/metadata", public, true},
		{"FHIR metadata by HEAD is public", "HEAD", "/fhir/metadata", public, true},
		{"writing to FHIR metadata needs fhir:write", "POST", "/fhir/metadata", fhir, true},
		{"HL7 over REST needs hl7:write", "POST", "/v1/hl7", hl7, true},
		{"a path next to /fhir has no row", "POST", "/fhirx", Rule{}, false},
		{"a trailing slash on /v1/hl7 has no row", "POST", "/v1/hl7/", Rule{}, false},
		{"an unknown path has no row", "POST", "/v1/other", Rule{}, false},
		{"metrics are public", "GET", "/metrics", public, true},
		{"healthz by HEAD is public", "HEAD", "/healthz", public, true},
		{"readyz is public", "GET", "/readyz", public, true},
		{"writing to metrics has no row", "PUT", "/metrics", Rule{}, false},
		{"deleting healthz has no row", "DELETE", "/healthz", Rule{}, false},
		{"a lower-case method is not GET", "get", "/metrics", Rule{}, false},
		{"a mixed-case probe path has no row", "GET", "/Metrics", Rule{}, false},
		{"the OpenAPI document is public", "GET", "/openapi.json", public, true},
		{"listing connectors is public", "GET", "/connectors", public, true},
		{"a connector's status is public", "GET", "/connectors/adt/status", public, true},
		{"pausing needs gateway:admin", "PUT", "/connectors/adt/pause", adm, true},
		{"restarting needs gateway:admin", "POST", "/connectors/adt/restart", adm, true},
		{"deleting a connector has no row", "DELETE", "/connectors/adt", Rule{}, false},
		{"the root has no row", "GET", "/", Rule{}, false},
		{"an encoded dot-dot to metrics is refused", "PUT", "/fhir/%2e%2e/metrics", Rule{}, false},
		{"an upper-case encoded dot-dot to readyz is refused", "GET", "/fhir/%2E%2E/readyz", Rule{}, false},
		{"a dot-dot segment is refused", "GET", "/fhir/../metrics", Rule{}, false},
		{"a dot segment is refused", "GET", "/./metrics", Rule{}, false},
		{"a doubled slash is refused", "GET", "//metrics", Rule{}, false},
		{"an encoded slash is refused", "GET", "/fhir%2fmetrics", Rule{}, false},
		{"an encoded letter is refused", "GET", "/%6detrics", Rule{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rawRequest(t, tt.method, tt.path)
			rule, pattern, routed := table.Lookup(r)
			if rule != tt.want || routed != tt.routed {
				t.Fatalf("(%+v, %q, %v), want (%+v, %v)", rule, pattern, routed, tt.want, tt.routed)
			}
		})
	}
}

// rawRequest parses a request line as net/http's server does, so that the
// path keeps its encoding and dot segments.
func rawRequest(t *testing.T, method, target string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: gw\r\n\r\n")))
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return r
}

func TestNilAuthenticatorMiddlewarePassesThrough(t *testing.T) {
	var a *Authenticator
	srv := httptest.NewServer(a.HTTPMiddleware("fhir-rest", GatewayRouteTable(), principalEcho))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/fhir/Patient", "application/fhir+json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "/anonymous" {
		t.Fatalf("%d %q, want the handler's answer", resp.StatusCode, body)
	}
}
