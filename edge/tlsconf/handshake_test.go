package tlsconf

import (
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/edge/tlsconf/tlstest"
	"github.com/hl7gw/gateway/internal/testwait"
)

func TestHandshake(t *testing.T) {
	p := newPKI(t)
	other := tlstest.NewCA(t, "other CA")
	cert := func(ca *tlstest.CA, cn string, opts ...tlstest.Option) [2]string {
		c, k := ca.Client(t, p.dir, cn, opts...)
		return [2]string{c, k}
	}
	sender1 := cert(p.ca, "sender-1")
	sender2 := cert(p.ca, "sender-2", tlstest.Organization("Hospital"))
	withDNS := cert(p.ca, "x", tlstest.Hosts("engine.hospital.test"))
	withMail := cert(p.ca, "y", tlstest.Emails("engine@hospital.test"))
	foreign := cert(other, "sender-1")
	expired := cert(p.ca, "sender-1", tlstest.Expired())
	none := [2]string{}

	require := p.options()
	allow := func(subjects ...string) Options {
		o := p.options()
		o.AllowedSubjects = subjects
		return o
	}
	request := p.options()
	request.ClientAuth = ClientAuthRequest
	serverOnly := Options{CertFile: p.certFile, KeyFile: p.keyFile}
	tls13 := p.options()
	tls13.MinVersion = "1.3"

	tests := []struct {
		name    string
		server  Options
		client  [2]string
		min     uint16 // client MinVersion, 0 = Go's default
		max     uint16 // client MaxVersion, 0 = TLS 1.3
		suites  []uint16
		wantErr string // the failure reason; "" = accepted
		alert   string // the alert the client receives, when checked
	}{
		{name: "a client certificate from the CA is accepted", server: require, client: sender1},
		{name: "a client certificate from the CA is accepted over TLS 1.2", server: require, client: sender1, max: tls.VersionTLS12},
		{name: "an allowed common name is accepted", server: allow("sender-9", "sender-1"), client: sender1},
		{name: "an allowed DNS name is accepted", server: allow("engine.hospital.test"), client: withDNS},
		{name: "an allowed e-mail address is accepted", server: allow("engine@hospital.test"), client: withMail},
		{name: "an allowed full subject is accepted", server: allow("CN=sender-2,O=Hospital"), client: sender2},
		{name: "a subject not in the allow-list is refused", server: allow("sender-2"), client: sender1, wantErr: ReasonSubjectNotAllowed, alert: "bad certificate"},
		{name: "a subject not in the allow-list is refused over TLS 1.2", server: allow("sender-2"), client: sender1, max: tls.VersionTLS12, wantErr: ReasonSubjectNotAllowed},
		{name: "the allow-list is case-sensitive", server: allow("Sender-1"), client: sender1, wantErr: ReasonSubjectNotAllowed},
		{name: "a partial subject does not match", server: allow("O=Hospital"), client: sender2, wantErr: ReasonSubjectNotAllowed},
		{name: "no client certificate when one is required is refused", server: require, client: none, wantErr: ReasonNoClientCert, alert: "certificate required"},
		{name: "no client certificate is refused over TLS 1.2", server: require, client: none, max: tls.VersionTLS12, wantErr: ReasonNoClientCert},
		{name: "a certificate from an unknown CA is refused", server: require, client: foreign, wantErr: ReasonBadClientCert, alert: "unknown certificate authority"},
		{name: "an expired client certificate is refused", server: require, client: expired, wantErr: ReasonBadClientCert, alert: "expired certificate"},
		{name: "no client certificate is fine when only requested", server: request, client: none},
		{name: "a requested certificate must still be valid", server: request, client: foreign, wantErr: ReasonBadClientCert},
		{name: "a server without client auth ignores client certificates", server: serverOnly, client: foreign},
		{name: "a TLS 1.1 client is refused", server: serverOnly, client: none, min: tls.VersionTLS10, max: tls.VersionTLS11, wantErr: ReasonOther, alert: "protocol version not supported"},
		{name: "a TLS 1.2 client offering only CBC suites is refused", server: serverOnly, client: none, max: tls.VersionTLS12,
			suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}, wantErr: ReasonOther, alert: "handshake failure"},
		{name: "a TLS 1.2 client is refused when the minimum is 1.3", server: tls13, client: sender1, max: tls.VersionTLS12, wantErr: ReasonOther},
		{name: "a TLS 1.3 client is accepted when the minimum is 1.3", server: tls13, client: sender1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, m := newReloader(t, tt.server)
			addr, conns := serveWrapped(t, r)
			cfg := p.client(t, tt.client[0], tt.client[1])
			cfg.MinVersion, cfg.MaxVersion, cfg.CipherSuites = tt.min, tt.max, tt.suites
			st, err := dial(addr, cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				assertAccepted(t, st, <-conns, tt.client[0] != "" && tt.server.ClientAuth != "")
			} else if err == nil {
				t.Fatalf("accepted, want refused (%s)", tt.wantErr)
			} else if !strings.Contains(err.Error(), "remote error: tls: "+tt.alert) {
				t.Errorf("client error %q, want the alert %q", err, tt.alert)
			}
			for _, reason := range reasons {
				want := 0.0
				if reason == tt.wantErr {
					want = 1
				}
				testwait.For(t, 5*time.Second, "failure "+reason, func() bool { return failures(m, reason) >= want })
				if got := failures(m, reason); got != want {
					t.Errorf("failures{reason=%s} = %v, want %v", reason, got, want)
				}
			}
		})
	}
}

// assertAccepted checks the negotiated parameters on both sides.
func assertAccepted(t *testing.T, client tls.ConnectionState, server net.Conn, wantPeer bool) {
	t.Helper()
	tc, ok := server.(*tls.Conn)
	if !ok {
		t.Fatalf("Accept returned %T, want *tls.Conn", server)
	}
	st := tc.ConnectionState()
	if !st.HandshakeComplete {
		t.Fatal("server connection returned before its handshake completed")
	}
	if wantPeer && len(st.PeerCertificates) == 0 {
		t.Error("server side has no peer certificate")
	}
	if client.Version == tls.VersionTLS12 && !slices.Contains(cipherSuites, client.CipherSuite) {
		t.Errorf("TLS 1.2 negotiated %s, not an ECDHE AEAD suite", tls.CipherSuiteName(client.CipherSuite))
	}
}

func TestTLSConfigReturnsSubjectError(t *testing.T) {
	p := newPKI(t)
	o := p.options()
	o.AllowedSubjects = []string{"sender-2"}
	r, _ := newReloader(t, o)
	certFile, keyFile := p.ca.Client(t, p.dir, "sender-1", tlstest.Organization("Lab"))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		errc <- tls.Server(c, r.TLSConfig()).Handshake()
	}()
	cfg := p.client(t, certFile, keyFile)
	cfg.MaxVersion = tls.VersionTLS12 // the client sees the alert in its handshake
	_, cerr := dial(ln.Addr().String(), cfg)
	if cerr == nil || !strings.HasSuffix(cerr.Error(), "remote error: tls: bad certificate") {
		t.Errorf("client error = %v, want a bad_certificate alert", cerr)
	}
	err = <-errc
	var se *SubjectError
	if !errors.As(err, &se) {
		t.Fatalf("server error = %v, want *SubjectError", err)
	}
	if se.Subject != "CN=sender-1,O=Lab" {
		t.Errorf("Subject = %q", se.Subject)
	}
	if Classify(err) != ReasonSubjectNotAllowed {
		t.Errorf("Classify = %q", Classify(err))
	}
}

func TestWrapListenerClose(t *testing.T) {
	p := newPKI(t)
	r, m := newReloader(t, p.options())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl := r.WrapListener(ln)
	// A client that connects and never sends a ClientHello.
	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	accepted := make(chan error, 1)
	go func() { _, err := wl.Accept(); accepted <- err }()
	if err := wl.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
	// The pending handshake is aborted: the idle client sees its connection closed.
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Error("idle client read data, want the connection closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("pending handshake not aborted by Close")
	}
	time.Sleep(20 * time.Millisecond)
	for _, reason := range reasons {
		if got := failures(m, reason); got != 0 {
			t.Errorf("a handshake aborted by Close counted as failed (%s)", reason)
		}
	}
}

func TestWrapListenerCountsPlaintextClients(t *testing.T) {
	p := newPKI(t)
	r, m := newReloader(t, p.options())
	addr, conns := serveWrapped(t, r)
	// A client that never sends its ClientHello must not hold up the others.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 64)); err == nil {
		// crypto/tls may answer with an alert record; the connection must then end.
		if _, err := c.Read(make([]byte, 64)); err == nil {
			t.Error("a plaintext client got an open connection")
		}
	}
	c.Close()
	testwait.For(t, 5*time.Second, "plaintext handshake counted", func() bool { return failures(m, ReasonOther) == 1 })
	// A well-behaved client still gets through behind them.
	certFile, keyFile := p.ca.Client(t, p.dir, "sender-1")
	if _, err := dial(addr, p.client(t, certFile, keyFile)); err != nil {
		t.Fatal(err)
	}
	<-conns
}
