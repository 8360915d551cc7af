package tlsconf

import (
	"bufio"
	"context"
	"crypto/tls"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hl7gw/gateway/edge/tlsconf/tlstest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// pki is a CA with a server certificate for loopback, written into dir.
type pki struct {
	dir                       string
	ca                        *tlstest.CA
	caFile, certFile, keyFile string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), ca: tlstest.NewCA(t, "test CA")}
	p.caFile = p.ca.WriteCert(t, p.dir)
	p.certFile, p.keyFile = p.ca.Server(t, p.dir, "127.0.0.1", "localhost")
	return p
}

// options are server options with mutual TLS required.
func (p *pki) options() Options {
	return Options{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile, ClientAuth: ClientAuthRequire}
}

// client returns a client configuration trusting p's CA, presenting the
// given key pair when certFile is not empty. It presents it even when the
// server's list of acceptable CAs does not name its issuer (a Go client
// with Certificates would then send none), as many other clients do.
func (p *pki) client(t *testing.T, certFile, keyFile string) *tls.Config {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.ca.Pool(), ServerName: "127.0.0.1"}
	if certFile != "" {
		kp := tlstest.KeyPair(t, certFile, keyFile)
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &kp, nil }
	}
	return cfg
}

// newReloader creates a Reloader named "test" with fresh metrics.
func newReloader(t *testing.T, o Options) (*Reloader, *Metrics) {
	t.Helper()
	m := NewMetrics(prometheus.NewRegistry())
	r, err := New("test", o, m, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, m
}

// serveWrapped serves r.WrapListener on loopback: each accepted connection
// gets "hello\n" and is read until the client leaves. Accepted connections
// are sent on the returned channel.
func serveWrapped(t *testing.T, r *Reloader) (addr string, conns <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl := r.WrapListener(ln)
	t.Cleanup(func() { _ = wl.Close() })
	ch := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := wl.Accept()
			if err != nil {
				return
			}
			select {
			case ch <- c:
			default:
			}
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("hello\n"))
				_, _ = bufio.NewReader(c).ReadString('\n')
			}()
		}
	}()
	return ln.Addr().String(), ch
}

// dial connects, completes the handshake and reads the server's greeting,
// which is where a TLS 1.3 client learns that its certificate was refused.
func dial(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	tc := c.(*tls.Conn)
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(tc).ReadString('\n'); err != nil {
		return tls.ConnectionState{}, err
	}
	return tc.ConnectionState(), nil
}

// servedSerial dials addr and returns the serial of the server's leaf.
func servedSerial(t *testing.T, addr string, cfg *tls.Config) *big.Int {
	t.Helper()
	st, err := dial(addr, cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return st.PeerCertificates[0].SerialNumber
}

// failures returns the handshake failure count of listener "test".
func failures(m *Metrics, reason string) float64 {
	return testutil.ToFloat64(m.failures.WithLabelValues("test", reason))
}

func reloads(m *Metrics, result string) float64 {
	return testutil.ToFloat64(m.reloads.WithLabelValues("test", result))
}

// replace atomically replaces dst with the contents of src, as a
// certificate renewal tool does.
func replace(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(dst), ".tmp-"+filepath.Base(dst))
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

func serial(t *testing.T, certFile string) *big.Int {
	t.Helper()
	return tlstest.ReadCert(t, certFile).SerialNumber
}
