package tlsconf

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/internal/testwait"
)

func TestHTTPServerOverWrapListener(t *testing.T) {
	tests := []struct {
		name       string
		nextProtos []string
		wantProto  string
	}{
		{name: "HTTP/1.1 sees the client certificate in Request.TLS", wantProto: "HTTP/1.1"},
		{name: "HTTP/2 is negotiated with h2 in NextProtos and sees it too", nextProtos: []string{"h2", "http/1.1"}, wantProto: "HTTP/2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t)
			o := p.options()
			o.NextProtos = tt.nextProtos
			r, _ := newReloader(t, o)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if req.TLS == nil || len(req.TLS.PeerCertificates) == 0 {
					http.Error(w, "no TLS state", http.StatusInternalServerError)
					return
				}
				_, _ = io.WriteString(w, req.TLS.PeerCertificates[0].Subject.CommonName)
			}), ReadHeaderTimeout: 5 * time.Second}
			go func() { _ = srv.Serve(r.WrapListener(ln)) }()
			t.Cleanup(func() { _ = srv.Close() })

			certFile, keyFile := p.ca.Client(t, p.dir, "fhir-client")
			tr := &http.Transport{TLSClientConfig: p.client(t, certFile, keyFile), ForceAttemptHTTP2: true}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + ln.Addr().String() + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(body) != "fhir-client" {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, "fhir-client")
			}
			if resp.Proto != tt.wantProto {
				t.Errorf("Proto = %s, want %s", resp.Proto, tt.wantProto)
			}
		})
	}
}

func TestGRPCCredentials(t *testing.T) {
	p := newPKI(t)
	o := p.options()
	o.AllowedSubjects = []string{"grpc-client"}
	r, m := newReloader(t, o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(r.GRPCCredentials()))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	check := func(cn string) error {
		certFile, keyFile := p.ca.Client(t, p.dir, cn)
		cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(p.client(t, certFile, keyFile))))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("status %v, want SERVING", resp.Status)
		}
		return err
	}
	if err := check("grpc-client"); err != nil {
		t.Fatalf("allowed client: %v", err)
	}
	if got := failures(m, ReasonSubjectNotAllowed); got != 0 {
		t.Fatalf("failures before a refusal = %v", got)
	}
	if err := check("intruder"); status.Code(err) != codes.Unavailable {
		t.Fatalf("refused client: %v, want Unavailable", err)
	}
	testwait.For(t, 5*time.Second, "subject_not_allowed counted", func() bool { return failures(m, ReasonSubjectNotAllowed) >= 1 })
	if got := failures(m, ReasonOther); got != 0 {
		t.Errorf("failures{reason=other} = %v", got)
	}
	if _, ok := r.GRPCCredentials().Clone().(grpcCreds); !ok {
		t.Error("Clone lost the failure counting")
	}
}

// The configuration grpc uses must negotiate h2, or clients refuse it.
func TestGRPCCredentialsNegotiateH2(t *testing.T) {
	p := newPKI(t)
	r, _ := newReloader(t, Options{CertFile: p.certFile, KeyFile: p.keyFile})
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _, _, _ = r.GRPCCredentials().ServerHandshake(b) }()
	c := tls.Client(a, &tls.Config{RootCAs: p.ca.Pool(), ServerName: "localhost", NextProtos: []string{"h2"}})
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	if got := c.ConnectionState().NegotiatedProtocol; got != "h2" {
		t.Errorf("ALPN = %q, want h2", got)
	}
}
