package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/edge/auth"
	"github.com/hl7gw/gateway/edge/auth/authtest"
	"github.com/hl7gw/gateway/edge/tlsconf/tlstest"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/mllp"
	"github.com/hl7gw/gateway/internal/metrictest"
	"github.com/hl7gw/gateway/internal/sendonce"
	"github.com/hl7gw/gateway/internal/testwait"
	"github.com/hl7gw/gateway/internal/topicread"
)

// pki is a CA with the server certificate of the loopback doors and the
// CA file clients and the gateway trust.
type pki struct {
	ca              *tlstest.CA
	dir             string
	caFile          string
	srvCert, srvKey string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{ca: tlstest.NewCA(t, "gateway test CA"), dir: t.TempDir()}
	p.caFile = p.ca.WriteCert(t, p.dir)
	p.srvCert, p.srvKey = p.ca.Server(t, p.dir, "127.0.0.1", "localhost")
	return p
}

// client is a TLS client configuration trusting the CA, presenting the
// certificate of cn (none when cn is "").
func (p *pki) client(t *testing.T, cn string, opts ...tlstest.Option) *tls.Config {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	if cn != "" {
		cert, key := p.ca.Client(t, t.TempDir(), cn, opts...)
		kp := tlstest.KeyPair(t, cert, key)
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &kp, nil }
	}
	return cfg
}

func mllpConnector(kv map[string]string) config.Connector {
	return config.Connector{Name: "adt", Type: config.TypeHL7MLLP, Config: kv}
}

// sendTLS sends msg over MLLP with TLS and returns the ACK or the error.
func sendTLS(addr string, cfg *tls.Config, msg []byte) (hl7.ACKInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return sendonce.ExchangeACK(ctx, addr, cfg, msg)
}

func TestMLLPOverMutualTLSAcceptsAllowedSubjectsOnly(t *testing.T) {
	p := newPKI(t)
	cfg := testConfig()
	cfg.Connectors = []config.Connector{mllpConnector(map[string]string{
		"tls.cert.file": p.srvCert, "tls.key.file": p.srvKey, "tls.client.ca.file": p.caFile,
		"tls.client.allowed.subjects": "lab-engine",
	})}
	g, _ := startGateway(t, cfg)
	msg := adtA01(t)

	ack, err := sendTLS(g.mllpAddr(), p.client(t, "lab-engine"), msg)
	if err != nil || ack.Code != "AA" {
		t.Fatalf("allowed client: %+v %v, want AA", ack, err)
	}
	for _, tc := range []struct {
		name   string
		client *tls.Config
		reason string
	}{
		{"a subject outside the allow-list", p.client(t, "billing"), "subject_not_allowed"},
		{"no client certificate", p.client(t, ""), "no_client_cert"},
		{"an expired certificate", p.client(t, "lab-engine", tlstest.Expired()), "bad_client_cert"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if ack, err := sendTLS(g.mllpAddr(), tc.client, msg); err == nil {
				t.Fatalf("got answer %+v, want the handshake refused", ack)
			}
			testwait.For(t, 10*time.Second, "the refusal counted as "+tc.reason, func() bool {
				return metrictest.Value(t, g.reg, "gateway_tls_handshake_failures_total", map[string]string{"listener": "adt", "reason": tc.reason}) == 1
			})
		})
	}
	if n := metrictest.Value(t, g.reg, "gateway_connections_rejected_total", map[string]string{"listener": "adt", "door": "mllp", "reason": "tls_handshake"}); n != 3 {
		t.Fatalf("mllp tls_handshake rejections = %v, want 3", n)
	}
	if plain, err := sendTLS(g.mllpAddr(), nil, msg); err == nil {
		t.Fatalf("plain TCP to a TLS door answered %+v", plain)
	}
}

func TestMLLPRefusesSourcesOutsideTheAllowListAndPastThePerSourceLimit(t *testing.T) {
	cfg := testConfig()
	cfg.Connectors = []config.Connector{
		mllpConnector(map[string]string{"source.allow": "10.0.0.0/8"}),
		{Name: "lab", Type: config.TypeHL7MLLP, Config: map[string]string{"listen.address": "127.0.0.1:0", "max.connections.per.source": "1"}},
	}
	cfg.Connectors[0].Config["listen.address"] = "127.0.0.2:0"
	g, _ := startGateway(t, cfg)
	msg := adtA01(t)

	if _, err := sendTLS(g.mllp[0].ln.Addr().String(), nil, msg); err == nil {
		t.Fatal("a source outside source.allow was answered")
	}
	testwait.For(t, 10*time.Second, "not_allowed counted", func() bool {
		return metrictest.Value(t, g.reg, "gateway_connections_rejected_total", map[string]string{"listener": "adt", "door": "mllp", "reason": "not_allowed"}) == 1
	})

	lab := g.mllp[1].ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, err := mllp.Dial(ctx, lab, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := first.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if _, err := sendTLS(lab, nil, msg); err == nil {
		t.Fatal("a second connection from the same source was answered past max.connections.per.source=1")
	}
	testwait.For(t, 10*time.Second, "per_source_limit counted", func() bool {
		return metrictest.Value(t, g.reg, "gateway_connections_rejected_total", map[string]string{"listener": "lab", "door": "mllp", "reason": "per_source_limit"}) == 1
	})
	if ack, err := first.Send(ctx, msg); err != nil || !strings.Contains(string(ack), "MSA|AA") {
		t.Fatalf("the first connection stopped working: %q %v", ack, err)
	}
}

func TestMLLPSlowSenderIsCutOffAndCounted(t *testing.T) {
	cfg := testConfig()
	cfg.Connectors = []config.Connector{mllpConnector(map[string]string{"mllp.read.timeout": "300ms"})}
	g, _ := startGateway(t, cfg)
	c, err := net.Dial("tcp", g.mllpAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("\x0bMSH|^~\\&|SLOW|")); err != nil { // a frame started, never finished
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("read %d bytes, want the connection closed", n)
	}
	testwait.For(t, 10*time.Second, "read_timeout counted", func() bool {
		return metrictest.Value(t, g.reg, "gateway_mllp_frame_errors_total", map[string]string{"listener": "adt", "reason": "read_timeout"}) == 1
	})
}

func TestMLLPDedupAnswersAResendWithoutASecondRecord(t *testing.T) {
	cfg := testConfig()
	cfg.Connectors = []config.Connector{mllpConnector(map[string]string{"hl7.dedup.enabled": "true"})}
	g, _ := startGateway(t, cfg)
	msg := adtA01(t)
	for i := range 3 {
		if a := sendonce.ACK(t, g.mllpAddr(), msg); a.Code != "AA" {
			t.Fatalf("copy %d answered %+v, want AA", i, a)
		}
	}
	if n := metrictest.Value(t, g.reg, "gateway_hl7_duplicates_total", map[string]string{"connector": "adt", "result": "suppressed"}); n != 2 {
		t.Fatalf("suppressed = %v, want 2", n)
	}
	recs := topicread.N(t, g.brokerAddrs(), 1, "hl7.adt.a01")
	if !bytes.Equal(recs[0].Value, msg) {
		t.Fatal("the stored record is not the message")
	}
	// consume returns once it has n records; look for a second one briefly.
	if extra := topicread.ToEnd(t, g.brokerAddrs(), "hl7.adt.a01"); len(extra) != 1 {
		t.Fatalf("%d records, want 1", len(extra))
	}
}

// keyLines is an API key file granting scopes to the key "k-<name>".
func keyLines(keys map[string][]string) []byte {
	var b strings.Builder
	for name, scopes := range keys {
		b.WriteString(name + " " + auth.HashKey("k-"+name) + " " + strings.Join(scopes, ",") + "\n")
	}
	return []byte(b.String())
}

// writeKeys writes an API key file granting scopes to the key "k-<name>"
// and returns its path.
func writeKeys(t *testing.T, keys map[string][]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "api-keys")
	if err := os.WriteFile(p, keyLines(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// outcome is the part of an OperationOutcome the tests look at.
type outcome struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Code string `json:"code"`
	} `json:"issue"`
}

func TestHTTPSDoorDemandsTokensWithTheRightScope(t *testing.T) {
	p := newPKI(t)
	cfg := testConfig()
	cfg.Connectors = []config.Connector{{Name: "rest", Type: config.TypeFHIRREST, Config: map[string]string{
		"tls.cert.file": p.srvCert, "tls.key.file": p.srvKey,
		"auth.api.keys.file": writeKeys(t, map[string][]string{"ehr": {auth.ScopeFHIRWrite}, "lab": {auth.ScopeHL7Write}}),
		"auth.jwt.jwks.file": authtest.WriteJWKS(t, t.TempDir()), "auth.jwt.issuer": authtest.Issuer, "auth.jwt.audience": authtest.Audience,
	}}}
	g, _ := startGateway(t, cfg)
	base := "https://" + g.http[0].ln.Addr().String()
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: p.client(t, "")}}
	patient := `{"resourceType":"Patient","id":"p1","name":[{"family":"Doe"}]}`
	post := func(token string) (*http.Response, outcome) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/fhir/Patient", strings.NewReader(patient))
		req.Header.Set("Content-Type", "application/fhir+json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var oo outcome
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &oo)
		return resp, oo
	}
	tests := []struct {
		name   string
		token  string
		status int
		issue  string
		reason string
	}{
		{"no token is 401", "", 401, "login", "missing"},
		{"a wrong key is 401", "k-nobody", 401, "login", "invalid"},
		{"an expired JWT is 401", authtest.Token(t, authtest.Expired(authtest.Claims("ehr-app", auth.ScopeFHIRWrite))), 401, "login", "expired"},
		{"an HL7-only key is 403", "k-lab", 403, "forbidden", "insufficient_scope"},
		{"an under-scoped JWT is 403", authtest.Token(t, authtest.Claims("ehr-app", auth.ScopeHL7Write)), 403, "forbidden", "insufficient_scope"},
		{"a FHIR key is 201", "k-ehr", 201, "", ""},
		{"a FHIR JWT is 201", authtest.Token(t, authtest.Claims("ehr-app", auth.ScopeFHIRWrite)), 201, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := metrictest.Value(t, g.reg, "gateway_auth_failures_total", map[string]string{"door": "rest", "reason": tt.reason})
			resp, oo := post(tt.token)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.issue == "" {
				return
			}
			if oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 || oo.Issue[0].Code != tt.issue {
				t.Fatalf("body %+v, want an OperationOutcome with issue %s", oo, tt.issue)
			}
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Fatalf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
			if got := metrictest.Value(t, g.reg, "gateway_auth_failures_total", map[string]string{"door": "rest", "reason": tt.reason}); got != before+1 {
				t.Fatalf("auth failures{%s} = %v, want %v", tt.reason, got, before+1)
			}
		})
	}
	for code, want := range map[string]float64{"401": 3, "403": 2, "201": 2} {
		if got := metrictest.Value(t, g.reg, "gateway_http_responses_total", map[string]string{"listener": "rest", "code": code}); got != want {
			t.Errorf("responses{code=%s} = %v, want %v", code, got, want)
		}
	}
	resp, err := cl.Get(base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("probe without a token: %v %v, want 200", resp, err)
	}
	resp.Body.Close()
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + g.http[0].ln.Addr().String() + "/readyz"); err == nil {
		t.Fatal("plain HTTP answered on the HTTPS door")
	}
}

func TestRewrittenAPIKeyFileRevokesAndAddsKeysWithoutARestart(t *testing.T) {
	keys := writeKeys(t, map[string][]string{"a": {auth.ScopeFHIRWrite}})
	cfg := testConfig()
	cfg.Connectors = []config.Connector{{Name: "rest", Type: config.TypeFHIRREST, Config: map[string]string{
		"auth.api.keys.file": keys, "auth.api.keys.reload.interval": "50ms",
	}}}
	g, logs := startGateway(t, cfg)
	url := "http://" + g.http[0].ln.Addr().String() + "/fhir/Patient"
	post := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"resourceType":"Patient","id":"p1","name":[{"family":"Doe"}]}`))
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("k-a"); code != 201 {
		t.Fatalf("key a before the rotation: %d, want 201", code)
	}
	if code := post("k-b"); code != 401 {
		t.Fatalf("key b before the rotation: %d, want 401", code)
	}

	// Rotate as an operator should: write beside the file, rename over it.
	if err := os.WriteFile(keys+".new", keyLines(map[string][]string{"b": {auth.ScopeFHIRWrite}}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(keys+".new", keys); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, "key b accepted after the rotation", func() bool { return post("k-b") == 201 })
	if code := post("k-a"); code != 401 {
		t.Fatalf("revoked key a: %d, want 401", code)
	}
	if n := metrictest.Value(t, g.reg, "gateway_auth_api_keys_reloads_total", map[string]string{"result": "ok"}); n != 1 {
		t.Fatalf("api key reloads{ok} = %v, want 1", n)
	}
	if n := metrictest.Value(t, g.reg, "gateway_auth_api_keys", nil); n != 1 {
		t.Fatalf("gateway_auth_api_keys = %v, want 1", n)
	}
	for _, name := range []string{"a", "b"} {
		if hash := auth.HashKey("k-" + name); strings.Contains(logs.String(), hash[len("sha256:"):][:16]) {
			t.Fatalf("the logs carry the hash of key %s", name)
		}
	}
}

func TestHTTPDoorLimitsConnections(t *testing.T) {
	cfg := testConfig()
	cfg.Connectors = []config.Connector{{Name: "rest", Type: config.TypeFHIRREST, Config: map[string]string{"max.connections": "1"}}}
	g, _ := startGateway(t, cfg)
	addr := g.http[0].ln.Addr().String()
	hold, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	testwait.For(t, 10*time.Second, "a refused second connection", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
		_, err = c.Read(make([]byte, 1))
		return err != nil // closed without an answer
	})
	if n := metrictest.Value(t, g.reg, "gateway_connections_rejected_total", map[string]string{"listener": "rest", "door": "http", "reason": "max_conns"}); n < 1 {
		t.Fatalf("max_conns rejections = %v, want at least 1", n)
	}
}

func TestProfilerIsServedOnlyOnTheDebugAddress(t *testing.T) {
	cfg := testConfig()
	cfg.DebugAddr = "127.0.0.1:0"
	g, _ := startGateway(t, cfg)
	if len(g.http) != 2 {
		t.Fatalf("%d HTTP listeners, want the main one and the debug one", len(g.http))
	}
	get := func(addr string) int {
		resp, err := http.Get("http://" + addr + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(g.http[1].ln.Addr().String()); code != 200 {
		t.Fatalf("debug listener: %d, want 200", code)
	}
	if code := get(g.http[0].ln.Addr().String()); code == 200 {
		t.Fatal("the profiler is served on the main HTTP listener")
	}
}

func TestRESTLimitsAreAnsweredAndCounted(t *testing.T) {
	cfg := testConfig()
	cfg.Connectors = []config.Connector{{Name: "rest", Type: config.TypeFHIRREST, Config: map[string]string{
		"http.max.body.bytes": "2000", "http.read.timeout": "500ms",
	}}}
	g, _ := startGateway(t, cfg)
	addr := g.http[0].ln.Addr().String()
	post := func(ctype, body string) int {
		resp, err := http.Post("http://"+addr+"/fhir/Patient", ctype, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	big := `{"resourceType":"Patient","id":"big","name":[{"family":"` + strings.Repeat("x", 3000) + `"}]}`
	if code := post("application/fhir+json", big); code != 413 {
		t.Fatalf("oversized body: %d, want 413", code)
	}
	if code := post("text/xml", "<Patient/>"); code != 415 {
		t.Fatalf("XML body: %d, want 415", code)
	}
	// A slow sender: headers, then half a body, then nothing.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, _ = io.WriteString(c, "POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: 100\r\n\r\n{\"resourceType\":")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	if time.Since(start) > 8*time.Second {
		t.Fatalf("a slow sender held the connection for %v, want it cut after http.read.timeout", time.Since(start))
	}
	if !strings.HasPrefix(string(b), "HTTP/1.1 408") {
		t.Fatalf("slow sender answered %q, want 408", b)
	}
	for code, want := range map[string]float64{"413": 1, "415": 1, "408": 1} {
		if got := metrictest.Value(t, g.reg, "gateway_http_responses_total", map[string]string{"listener": "rest", "code": code}); got != want {
			t.Errorf("responses{code=%s} = %v, want %v", code, got, want)
		}
	}
}

func TestRenewedCertificateIsServedWithoutARestart(t *testing.T) {
	p := newPKI(t)
	cfg := testConfig()
	cfg.Connectors = []config.Connector{mllpConnector(map[string]string{
		"tls.cert.file": p.srvCert, "tls.key.file": p.srvKey, "tls.reload.interval": "100ms",
	})}
	g, _ := startGateway(t, cfg)
	msg := adtA01(t)
	served := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", g.mllpAddr(), p.client(t, ""))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := served()
	// Renew: a new certificate for the same names, written over the old files.
	dir := t.TempDir()
	cert, key := p.ca.Server(t, dir, "127.0.0.1", "localhost")
	for src, dst := range map[string]string{cert: p.srvCert, key: p.srvKey} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	testwait.For(t, 10*time.Second, "the renewed certificate served", func() bool { return served() != before })
	if ack, err := sendTLS(g.mllpAddr(), p.client(t, ""), msg); err != nil || ack.Code != "AA" {
		t.Fatalf("after renewal: %+v %v, want AA", ack, err)
	}
	if n := metrictest.Value(t, g.reg, "gateway_tls_cert_reloads_total", map[string]string{"listener": "adt", "result": "ok"}); n < 1 {
		t.Fatalf("reloads{ok} = %v, want at least 1", n)
	}
}
