package tlsconf

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/edge/tlsconf/tlstest"
	"github.com/hl7gw/gateway/internal/testwait"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReloadServesRenewedCertificate(t *testing.T) {
	p := newPKI(t)
	r, m := newReloader(t, p.options())
	addr, _ := serveWrapped(t, r)
	clientCert, clientKey := p.ca.Client(t, p.dir, "sender-1")
	cfg := p.client(t, clientCert, clientKey)
	old := serial(t, p.certFile)
	if got := servedSerial(t, addr, cfg); got.Cmp(old) != 0 {
		t.Fatalf("served serial %x, want %x", got, old)
	}

	renewed := t.TempDir()
	newCert, newKey := p.ca.Server(t, renewed, "127.0.0.1")
	replace(t, newCert, p.certFile)
	replace(t, newKey, p.keyFile)
	if got := servedSerial(t, addr, cfg); got.Cmp(old) != 0 {
		t.Fatalf("served %x before Reload, want the old %x", got, old)
	}
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	want := serial(t, newCert)
	if got := servedSerial(t, addr, cfg); got.Cmp(want) != 0 {
		t.Errorf("served %x after Reload, want the renewed %x", got, want)
	}
	if got := r.Leaf().SerialNumber; got.Cmp(want) != 0 {
		t.Errorf("Leaf serial %x, want %x", got, want)
	}
	if ok, bad := reloads(m, ResultOK), reloads(m, ResultError); ok != 1 || bad != 0 {
		t.Errorf("reloads ok=%v error=%v, want 1 and 0", ok, bad)
	}
	if got, want := testutil.ToFloat64(m.expiry.WithLabelValues("test")), float64(tlstest.ReadCert(t, newCert).NotAfter.Unix()); got != want {
		t.Errorf("expiry gauge = %v, want %v", got, want)
	}
}

func TestRunPicksUpRenewedCertificate(t *testing.T) {
	p := newPKI(t)
	o := p.options()
	o.ReloadInterval = 10 * time.Millisecond
	r, m := newReloader(t, o)
	addr, _ := serveWrapped(t, r)
	clientCert, clientKey := p.ca.Client(t, p.dir, "sender-1")
	cfg := p.client(t, clientCert, clientKey)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { r.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()

	time.Sleep(50 * time.Millisecond) // unchanged files: several checks, no reload
	if got := reloads(m, ResultOK) + reloads(m, ResultError); got != 0 {
		t.Fatalf("reloads of unchanged files = %v, want 0", got)
	}
	renewed := t.TempDir()
	newCert, newKey := p.ca.Server(t, renewed, "127.0.0.1")
	want := serial(t, newCert)
	replace(t, newKey, p.keyFile)
	replace(t, newCert, p.certFile)
	testwait.For(t, 5*time.Second, "the renewed certificate served", func() bool { return servedSerial(t, addr, cfg).Cmp(want) == 0 })
	// The key may have been read before the certificate (a mismatch, counted
	// as an error); the last reload must be a success.
	testwait.For(t, 5*time.Second, "a successful reload counted", func() bool { return reloads(m, ResultOK) >= 1 })
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestBrokenFilesKeepTheOldCertificate(t *testing.T) {
	tests := []struct {
		name    string
		break_  func(t *testing.T, p *pki)
		wantMsg string
	}{
		{name: "a certificate file that is not PEM", wantMsg: "key pair",
			break_: func(t *testing.T, p *pki) { write(t, p.certFile, "not a certificate") }},
		{name: "a key that does not match the certificate", wantMsg: "private key does not match",
			break_: func(t *testing.T, p *pki) { _, k := p.ca.Server(t, t.TempDir(), "x"); replace(t, k, p.keyFile) }},
		{name: "a missing key file", wantMsg: "no such file",
			break_: func(t *testing.T, p *pki) { _ = os.Remove(p.keyFile) }},
		{name: "a client CA file without certificates", wantMsg: "client CA file",
			break_: func(t *testing.T, p *pki) { write(t, p.caFile, "-----BEGIN NOTHING-----\n") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t)
			var logs bytes.Buffer
			m := NewMetrics(prometheus.NewRegistry())
			r, err := New("test", p.options(), m, slog.New(slog.NewJSONHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			addr, _ := serveWrapped(t, r)
			clientCert, clientKey := p.ca.Client(t, p.dir, "sender-1")
			cfg := p.client(t, clientCert, clientKey)
			old := serial(t, p.certFile)
			keyPEM, _ := os.ReadFile(p.keyFile)

			tt.break_(t, p)
			err = r.Reload()
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Reload = %v, want an error containing %q", err, tt.wantMsg)
			}
			if got := servedSerial(t, addr, cfg); got.Cmp(old) != 0 {
				t.Errorf("served %x after a failed reload, want the old %x", got, old)
			}
			if ok, bad := reloads(m, ResultOK), reloads(m, ResultError); ok != 0 || bad != 1 {
				t.Errorf("reloads ok=%v error=%v, want 0 and 1", ok, bad)
			}
			out := logs.String()
			if !strings.Contains(out, "tls certificate reload failed") || !strings.Contains(out, p.keyFile) {
				t.Errorf("warning missing or without file names: %s", out)
			}
			if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, string(keyPEM[40:80])) {
				t.Error("the log holds key material")
			}
		})
	}
}

// Run reports lasting broken contents once, then recovers when they are fixed.
func TestRunCountsBrokenContentsOnce(t *testing.T) {
	p := newPKI(t)
	o := p.options()
	o.ReloadInterval = 5 * time.Millisecond
	r, m := newReloader(t, o)
	good, _ := os.ReadFile(p.certFile)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { r.Run(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()

	write(t, p.certFile, "garbage")
	testwait.For(t, 5*time.Second, "the broken file counted", func() bool { return reloads(m, ResultError) == 1 })
	time.Sleep(50 * time.Millisecond)
	if got := reloads(m, ResultError); got != 1 {
		t.Errorf("the same broken contents counted %v times, want 1", got)
	}
	write(t, p.certFile, string(good))
	testwait.For(t, 5*time.Second, "the fixed file reloaded", func() bool { return reloads(m, ResultOK) == 1 })
}

func TestReloadRenewedClientCA(t *testing.T) {
	p := newPKI(t)
	r, _ := newReloader(t, p.options())
	addr, _ := serveWrapped(t, r)
	oldCert, oldKey := p.ca.Client(t, p.dir, "sender-1")
	next := tlstest.NewCA(t, "next CA")
	newCert, newKey := next.Client(t, p.dir, "sender-1")
	if _, err := dial(addr, p.client(t, newCert, newKey)); err == nil {
		t.Fatal("a client of the next CA was accepted before the CA file changed")
	}
	replace(t, next.WriteCert(t, t.TempDir()), p.caFile)
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(addr, p.client(t, newCert, newKey)); err != nil {
		t.Errorf("a client of the next CA refused after reload: %v", err)
	}
	if _, err := dial(addr, p.client(t, oldCert, oldKey)); err == nil {
		t.Error("a client of the removed CA still accepted after reload")
	}
}

func TestExpiryGauge(t *testing.T) {
	p := newPKI(t)
	notAfter := time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
	certFile, keyFile := p.ca.Issue(t, p.dir, "localhost", tlstest.Hosts("localhost"), tlstest.NotAfter(notAfter))
	reg := prometheus.NewRegistry()
	if _, err := New("https", Options{CertFile: certFile, KeyFile: keyFile}, NewMetrics(reg), nil); err != nil {
		t.Fatal(err)
	}
	want := `# HELP gateway_tls_cert_expiry_timestamp_seconds NotAfter of the certificate a listener serves, in Unix seconds.
# TYPE gateway_tls_cert_expiry_timestamp_seconds gauge
gateway_tls_cert_expiry_timestamp_seconds{listener="https"} ` + strings.TrimSpace(formatFloat(float64(notAfter.Unix()))) + "\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gateway_tls_cert_expiry_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "gateway_tls_handshake_failures_total", "gateway_tls_cert_reloads_total"); err != nil || n != 6 {
		t.Errorf("series created at zero = %d (%v), want 4 reasons + 2 results", n, err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'e', -1, 64) }
