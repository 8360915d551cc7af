package mllp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/hl7gw/gateway/edge/netallow"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/internal/testwait"
)

// selfSigned returns a server TLS config for 127.0.0.1 and a client config
// trusting it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mllp-test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

func TestClientSendsCorpusMessagesOverTLS(t *testing.T) {
	noLeaks(t)
	serverTLS, clientTLS := selfSigned(t)
	var sawTLS = make(chan bool, 1)
	h := HandlerFunc(func(ctx context.Context, p ConnInfo, b []byte) []byte {
		select {
		case sawTLS <- p.TLS != nil && p.TLS.HandshakeComplete:
		default:
		}
		return echo(ctx, p, b)
	})
	ts := startServer(t, ServerConfig{TLSConfig: serverTLS}, h)
	c, err := Dial(context.Background(), ts.addr, clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"valid/pyhl7-sample_hl7.hl7", "valid/fhirconv-OUL-R23-02.hl7", "valid/lenaten-msg4.hl7"} {
		msg := corpus.Read(t, corpus.HL7, name)
		ans, err := c.Send(context.Background(), msg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(ans) != "ACK:"+string(msg) {
			t.Fatalf("%s: answer differs from the echoed message", name)
		}
	}
	if !<-sawTLS {
		t.Fatal("handler did not see the TLS connection state")
	}
}

func TestServerRejectsPlainClientOnTLSListener(t *testing.T) {
	noLeaks(t)
	serverTLS, _ := selfSigned(t)
	ts := startServer(t, ServerConfig{TLSConfig: serverTLS}, echo)
	c := dialRaw(t, ts.addr)
	if err := WriteFrame(c, []byte("MSH|plain")); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c)
	testwait.For(t, 5*time.Second, "tls rejection metric", func() bool { return ts.rejected(netallow.RejectTLSHandshake) == 1 })
}

func TestClientSendHonoursContext(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{name: "a deadline that passes before the answer fails the send", want: context.DeadlineExceeded,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 100*time.Millisecond)
			}},
		{name: "a cancellation without deadline fails the send", want: context.Canceled,
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(100*time.Millisecond, cancel)
				return ctx, cancel
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			release := make(chan struct{})
			h := HandlerFunc(func(ctx context.Context, p ConnInfo, b []byte) []byte {
				if string(b) == "slow" {
					<-release
				}
				return echo(ctx, p, b)
			})
			ts := startServer(t, ServerConfig{}, h)
			defer close(release) // before the server's shutdown (LIFO)
			c := dialClient(t, ts.addr)
			if _, err := c.Send(context.Background(), []byte("fast")); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := tt.ctx()
			defer cancel()
			if _, err := c.Send(ctx, []byte("slow")); !errors.Is(err, tt.want) {
				t.Fatalf("Send = %v, want %v", err, tt.want)
			}
			if _, err := c.Send(context.Background(), []byte("fast")); !errors.Is(err, ErrClientBroken) {
				t.Fatalf("Send after failure = %v, want ErrClientBroken", err)
			}
		})
	}
}

func TestClientReportsServerClosing(t *testing.T) {
	ts := startServer(t, ServerConfig{MaxFrameSize: 10}, echo)
	c := dialClient(t, ts.addr)
	if _, err := c.Send(context.Background(), []byte("this is more than ten bytes")); err == nil {
		t.Fatal("Send of an oversized frame succeeded")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close after failure = %v", err)
	}
}

func TestDialFailsOnClosedPort(t *testing.T) {
	ln := mustListen(t)
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Dial(ctx, addr, nil); err == nil {
		t.Fatal("Dial to a closed port succeeded")
	}
}

// BenchmarkRoundTrip measures one client sending a corpus message and
// waiting for its answer over loopback TCP, the per-connection ceiling.
func BenchmarkRoundTrip(b *testing.B) {
	msg := corpus.Read(b, corpus.HL7, "valid/fhirconv-ADT-A01-02.hl7")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer("bench", ServerConfig{Logger: quiet}, HandlerFunc(func(context.Context, ConnInfo, []byte) []byte {
		return []byte("MSH|^~\\&|GW|H|S|F|20240101||ACK|1|P|2.5\rMSA|AA|1\r")
	}), nil)
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	c, err := Dial(context.Background(), ln.Addr().String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := c.Send(context.Background(), msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
