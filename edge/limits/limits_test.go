package limits_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/edge/limits"
	"github.com/hl7gw/gateway/edge/netallow"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// holder keeps every StreamHL7 open until release is closed.
type holder struct {
	gatewayv1.UnimplementedGatewayServiceServer
	opened  chan struct{}
	release chan struct{}
}

func (h *holder) StreamHL7(s grpc.BidiStreamingServer[gatewayv1.StreamHL7Request, gatewayv1.StreamHL7Response]) error {
	h.opened <- struct{}{}
	<-h.release
	return nil
}

func TestStreamLimitRefusesTheStreamPastTheBoundAndCountsIt(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := limits.NewMetrics(reg)
	h := &holder{opened: make(chan struct{}, 4), release: make(chan struct{})}
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(m.StreamLimit("api", 2)))
	gatewayv1.RegisterGatewayServiceServer(srv, h)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	cc := serve(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := gatewayv1.NewGatewayServiceClient(cc)
	for range 2 {
		if _, err := cl.StreamHL7(ctx); err != nil {
			t.Fatal(err)
		}
		<-h.opened
	}
	if got := testutil.ToFloat64(m.Streams("api")); got != 2 {
		t.Fatalf("streams_active = %v, want 2", got)
	}
	third, err := cl.StreamHL7(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := third.Recv(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("third stream: %v, want RESOURCE_EXHAUSTED", err)
	}
	if got := testutil.ToFloat64(m.RejectedCounter("api", "grpc", netallow.RejectMaxStreams)); got != 1 {
		t.Fatalf("rejected = %v, want 1", got)
	}
	// A health watch is never refused, even at the bound.
	w, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil {
		t.Fatalf("health watch at the stream bound: %v", err)
	}
	close(h.release)
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(m.Streams("api")) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := testutil.ToFloat64(m.Streams("api")); got != 0 {
		t.Fatalf("streams_active = %v after the streams ended, want 0", got)
	}
}

func TestOnRejectCountsEachRefusedConnection(t *testing.T) {
	m := limits.NewMetrics(prometheus.NewRegistry())
	f := m.OnReject("rest", "http")
	f(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}, netallow.RejectNotAllowed)
	f(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}, netallow.RejectNotAllowed)
	m.OnReject("adt", "mllp")(&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1)}, netallow.RejectTLSHandshake)
	if got := testutil.ToFloat64(m.RejectedCounter("rest", "http", netallow.RejectNotAllowed)); got != 2 {
		t.Fatalf("http refusals counted %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.RejectedCounter("adt", "mllp", netallow.RejectTLSHandshake)); got != 1 {
		t.Fatalf("mllp refusals counted %v in the same family, want 1", got)
	}
	var nilMetrics *limits.Metrics
	nilMetrics.Rejected("x", "http", netallow.RejectMaxConns) // records nothing, does not panic
}

// serve runs srv on a loopback port until the test ends and returns a
// client connection to it.
func serve(t *testing.T, srv *grpc.Server) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}
