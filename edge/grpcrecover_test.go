package edge

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/edge/limits"
)

// panickyHealth panics on the service name "boom" (unary) and on every
// Watch (stream); otherwise it answers SERVING.
type panickyHealth struct {
	healthpb.UnimplementedHealthServer
}

func (panickyHealth) Check(_ context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if r.GetService() == "boom" {
		var m map[string]int
		m["secret-patient-name"]++ // a nil map write: a runtime error
	}
	if r.GetService() == "value" {
		panic("secret-patient-name")
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (panickyHealth) Watch(*healthpb.HealthCheckRequest, healthpb.Health_WatchServer) error {
	panic("secret-patient-name")
}

// TestAGRPCHandlerPanicIsAnsweredInternalAndTheServerGoesOn: with the
// edge's options a handler's panic, unary or streaming, is that call's
// INTERNAL and a logged stack without the panic's text; the server answers
// the next call.
func TestAGRPCHandlerPanicIsAnsweredInternalAndTheServerGoesOn(t *testing.T) {
	f := newFixture(t, limits.Budget{})
	c := f.connector(t, "api", "grpc", nil)
	srv := grpc.NewServer(c.GRPCOptions()...)
	healthpb.RegisterHealthServer(srv, panickyHealth{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	h := healthpb.NewHealthClient(cc)
	ctx := t.Context()

	for _, name := range []string{"boom", "value"} {
		if _, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: name}); status.Code(err) != codes.Internal {
			t.Fatalf("Check(%s) = %v, want INTERNAL", name, err)
		}
	}
	st, err := h.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("Watch = %v, want INTERNAL", err)
	}
	if r, err := h.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("the next call: %v, %v", r, err)
	}
	f.panicsLogged(t, "grpc handler panicked", 3, "/grpc.health.v1.Health/Watch")
}

// panicsLogged checks that the log has n lines saying line, with stacks
// and the runtime error's text (the tests' first panic is a nil map
// write) and every string of also, and never a test value named
// "secret-patient…" (a panic's value or what the handler had written).
func (f *fixture) panicsLogged(t *testing.T, line string, n int, also ...string) {
	t.Helper()
	logs := f.logs.String()
	ok := strings.Count(logs, line) == n && strings.Contains(logs, "assignment to entry in nil map") && strings.Contains(logs, "goroutine")
	for _, s := range also {
		ok = ok && strings.Contains(logs, s)
	}
	if !ok {
		t.Fatalf("want %d %q lines with their stacks and %q:\n%s", n, line, also, logs)
	}
	if strings.Contains(logs, "secret-patient") {
		t.Fatalf("the log quotes a panic's value or the request:\n%s", logs)
	}
}
