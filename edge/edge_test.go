package edge

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/edge/auth"
	"github.com/hl7gw/gateway/edge/limits"
	"github.com/hl7gw/gateway/edge/tlsconf/tlstest"
	"github.com/hl7gw/gateway/ingest/mllp"
	"github.com/hl7gw/gateway/internal/logbuf"
	"github.com/hl7gw/gateway/internal/metrictest"
	"github.com/hl7gw/gateway/internal/sendonce"
	"github.com/hl7gw/gateway/internal/testwait"
)

// fixture is a Builder over its own registry and log, with background
// loops ended when the test ends.
type fixture struct {
	b    *Builder
	reg  *prometheus.Registry
	logs *logbuf.Buffer
}

func newFixture(t *testing.T, budget limits.Budget) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	f := &fixture{reg: prometheus.NewRegistry(), logs: &logbuf.Buffer{}}
	f.b = New(Options{Registerer: f.reg, Budget: budget, Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
		Run: func(loop func(context.Context)) { wg.Go(func() { loop(ctx) }) }})
	return f
}

// connector builds the edge of a connector of type typ with the keys kv.
func (f *fixture) connector(t *testing.T, name, typ string, kv map[string]string) *Connector {
	t.Helper()
	cfg := config.Default()
	s, err := config.Connector{Name: name, Type: typ, Config: kv}.Settings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.b.Connector(t.Context(), name, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serveHTTP serves routes on a new local listener through the edge's HTTP
// server for c (nil: a listener without connector) until the test ends.
func (f *fixture) serveHTTP(t *testing.T, c *Connector, routes http.Handler) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := f.b.HTTPServer(c, routes)
	go srv.Serve(f.b.Listener(c, DoorHTTP, ln))
	t.Cleanup(func() { srv.Close() })
	return ln
}

func (f *fixture) rejected(t *testing.T, listener, door, reason string) float64 {
	t.Helper()
	return metrictest.Value(t, f.reg, "gateway_connections_rejected_total", map[string]string{"listener": listener, "door": door, "reason": reason})
}

// serveMLLP serves an echo MLLP server configured by c on addr.
func serveMLLP(t *testing.T, c *Connector, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s here: %v", addr, err)
	}
	echo := mllp.HandlerFunc(func(_ context.Context, _ mllp.ConnInfo, p []byte) []byte { return append([]byte("ACK:"), p...) })
	return sendonce.Serve(t, ln, mllp.NewServer(c.Name(), c.MLLP(mllp.ServerConfig{Logger: slog.New(slog.DiscardHandler)}), echo, nil))
}

// send sends one frame and returns the answer or the error.
func send(addr string, cfg *tls.Config) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := sendonce.Exchange(ctx, addr, cfg, []byte("MSH|^~\\&|x"))
	return string(a), err
}

func TestMLLPOverMutualTLSAdmitsAllowedSubjectsOnly(t *testing.T) {
	f := newFixture(t, limits.Budget{})
	ca, dir := tlstest.NewCA(t, "edge test CA"), t.TempDir()
	cert, key := ca.Server(t, dir, "127.0.0.1")
	c := f.connector(t, "adt", config.TypeHL7MLLP, map[string]string{"tls.cert.file": cert, "tls.key.file": key,
		"tls.client.ca.file": ca.WriteCert(t, dir), "tls.client.allowed.subjects": "lab-engine"})
	addr := serveMLLP(t, c, "127.0.0.1:0")
	client := func(cn string) *tls.Config {
		cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		if cn != "" {
			cert, key := ca.Client(t, t.TempDir(), cn)
			kp := tlstest.KeyPair(t, cert, key)
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &kp, nil }
		}
		return cfg
	}
	if a, err := send(addr, client("lab-engine")); err != nil || !strings.HasPrefix(a, "ACK:") {
		t.Fatalf("allowed subject: %q %v, want the echo", a, err)
	}
	for _, tc := range []struct{ name, cn, reason string }{
		{"a subject outside the allow-list", "billing", "subject_not_allowed"},
		{"no client certificate", "", "no_client_cert"},
	} {
		if _, err := send(addr, client(tc.cn)); err == nil {
			t.Fatalf("%s was answered", tc.name)
		}
		testwait.For(t, 5*time.Second, tc.name+" counted as "+tc.reason, func() bool {
			return metrictest.Value(t, f.reg, "gateway_tls_handshake_failures_total", map[string]string{"listener": "adt", "reason": tc.reason}) == 1
		})
	}
	if n := f.rejected(t, "adt", DoorMLLP, "tls_handshake"); n != 2 {
		t.Fatalf("mllp tls_handshake refusals %v, want 2", n)
	}
}

func TestMLLPAdmissionRefusesCountsAndLogsAsTheServerDid(t *testing.T) {
	f := newFixture(t, limits.Budget{})
	outside := f.connector(t, "adt", config.TypeHL7MLLP, map[string]string{"source.allow": "10.0.0.0/8"})
	if _, err := send(serveMLLP(t, outside, "127.0.0.1:0"), nil); err == nil {
		t.Fatal("a source outside source.allow was answered")
	}
	testwait.For(t, 5*time.Second, "not_allowed counted", func() bool { return f.rejected(t, "adt", DoorMLLP, "not_allowed") == 1 })

	lab := f.connector(t, "lab", config.TypeHL7MLLP, map[string]string{"max.connections.per.source": "1"})
	addr := serveMLLP(t, lab, "127.0.0.1:0")
	first, err := mllp.Dial(t.Context(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := first.Send(t.Context(), []byte("MSH|1")); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := send(addr, nil); err == nil {
			t.Fatal("a second connection of the source was answered past max.connections.per.source=1")
		}
	}
	testwait.For(t, 5*time.Second, "per_source_limit counted", func() bool { return f.rejected(t, "lab", DoorMLLP, "per_source_limit") == 20 })
	logs := f.logs.String()
	if n := strings.Count(logs, `msg="mllp connection rejected"`); n != 1+netallowFirst {
		t.Fatalf("%d refusal lines (1 not_allowed, 20 per_source_limit), want %d:\n%s", n, 1+netallowFirst, logs)
	}
	for _, want := range []string{"connector=adt listener=adt", "reason=not_allowed", "connector=lab listener=lab", "reason=per_source_limit", "max_conns_per_source=1"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// netallowFirst is how many refusals of one source a minute are logged.
const netallowFirst = 5

func TestHTTPListenerAdmitsBeforeAuthenticating(t *testing.T) {
	f := newFixture(t, limits.Budget{})
	keys := filepath.Join(t.TempDir(), "api-keys")
	const key = "ehr-key-0123456789abcdef"
	if err := os.WriteFile(keys, []byte("ehr "+auth.HashKey(key)+" "+auth.ScopeFHIRWrite+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := f.connector(t, "rest", config.TypeFHIRREST, map[string]string{"auth.api.keys.file": keys, "max.connections": "1"})
	routes := http.NewServeMux()
	routes.HandleFunc("POST /fhir/Patient", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	routes.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	ln := f.serveHTTP(t, c, routes)
	base := "http://" + ln.Addr().String()
	// Both requests on one kept-alive connection: max.connections=1.
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	post := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/fhir/Patient", strings.NewReader("{}"))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", code)
	}
	if code := post(key); code != http.StatusCreated {
		t.Fatalf("a key with fhir:write: %d, want 201", code)
	}
	if n := metrictest.Value(t, f.reg, "gateway_http_responses_total", map[string]string{"listener": "rest", "code": "401"}); n != 1 {
		t.Fatalf("401 counted %v times, want 1 (counted outside authentication)", n)
	}
	hold, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	testwait.For(t, 5*time.Second, "a second connection refused", func() bool {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
		_, err = c.Read(make([]byte, 1))
		return err != nil
	})
	if n := f.rejected(t, "rest", DoorHTTP, "max_conns"); n < 1 {
		t.Fatalf("max_conns refusals %v, want at least 1", n)
	}
}

func TestAListenerWithoutConnectorHasTheBudgetsLimitsAndNoAuthentication(t *testing.T) {
	f := newFixture(t, limits.Budget{PerListener: 1})
	routes := http.NewServeMux()
	routes.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	ln := f.serveHTTP(t, nil, routes)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics without a token: %d, want 200", resp.StatusCode)
	}
	a := f.b.Admission(nil, DoorHTTP)
	first, ok := a.Admit(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1)})
	if !ok {
		t.Fatal("first connection refused")
	}
	defer first()
	if _, ok := a.Admit(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 2)}); ok {
		t.Fatal("a second connection admitted past the budget's one per listener")
	}
	if n := f.rejected(t, "http", DoorHTTP, "max_conns"); n != 1 {
		t.Fatalf("refusal counted %v under listener \"http\", want 1", n)
	}
}
