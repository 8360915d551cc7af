package limits_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/edge/limits"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

func TestGRPCKeepaliveCutsAStreamPastMaxAgeAndGrace(t *testing.T) {
	h := &holder{opened: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(h.release)
	srv := grpc.NewServer(limits.GRPCKeepalive(limits.ConnLifetime{MaxAge: 300 * time.Millisecond, MaxAgeGrace: 300 * time.Millisecond})...)
	gatewayv1.RegisterGatewayServiceServer(srv, h)
	cc := serve(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := gatewayv1.NewGatewayServiceClient(cc).StreamHL7(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-h.opened
	start := time.Now()
	if _, err := st.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("a stream held past max age and grace: %v, want UNAVAILABLE", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cut after %v, want within about 600ms", d)
	}
}

func TestGRPCKeepaliveClosesAConnectionIdlePastMaxIdle(t *testing.T) {
	h := &holder{opened: make(chan struct{}, 1), release: make(chan struct{})}
	close(h.release) // streams end at once
	srv := grpc.NewServer(limits.GRPCKeepalive(limits.ConnLifetime{MaxIdle: 200 * time.Millisecond})...)
	gatewayv1.RegisterGatewayServiceServer(srv, h)
	cc := serve(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := gatewayv1.NewGatewayServiceClient(cc).StreamHL7(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-h.opened
	_, _ = st.Recv()
	if cc.GetState() != connectivity.Ready {
		t.Fatalf("state %v after a call, want READY", cc.GetState())
	}
	// The server's GOAWAY sends the client connection back to IDLE.
	for s := cc.GetState(); s == connectivity.Ready; s = cc.GetState() {
		if !cc.WaitForStateChange(ctx, s) {
			t.Fatal("the idle connection stayed open")
		}
	}
}
