package main

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/edge/auth"
	"github.com/hl7gw/gateway/edge/auth/authtest"
	"github.com/hl7gw/gateway/internal/metrictest"
	"github.com/hl7gw/gateway/internal/testwait"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

func TestGRPCOverTLSDemandsTokensAndBoundsStreams(t *testing.T) {
	p := newPKI(t)
	cfg := testConfig()
	cfg.Connectors = []config.Connector{{Name: "api", Type: config.TypeGRPC, Config: map[string]string{
		"tls.cert.file": p.srvCert, "tls.key.file": p.srvKey,
		"auth.api.keys.file":          writeKeys(t, map[string][]string{"ehr": {auth.ScopeFHIRWrite}, "lab": {auth.ScopeHL7Write}}),
		"grpc.max.concurrent.streams": "1",
	}}}
	g, _ := startGateway(t, cfg)
	cc, err := grpc.NewClient(g.grpc[0].ln.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(p.client(t, ""))))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cl := gatewayv1.NewGatewayServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	with := func(key string) context.Context {
		if key == "" {
			return ctx
		}
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	patient := &gatewayv1.SubmitFHIRRequest{ResourceType: "Patient", Resource: []byte(`{"resourceType":"Patient","id":"g1"}`)}
	tests := []struct {
		name string
		key  string
		want codes.Code
	}{
		{"no token is UNAUTHENTICATED", "", codes.Unauthenticated},
		{"a wrong key is UNAUTHENTICATED", "k-nobody", codes.Unauthenticated},
		{"an expired JWT is UNAUTHENTICATED", authtest.Token(t, authtest.Expired(authtest.Claims("x", auth.ScopeFHIRWrite))), codes.Unauthenticated},
		{"an HL7-only key is PERMISSION_DENIED", "k-lab", codes.PermissionDenied},
		{"a FHIR key is OK", "k-ehr", codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cl.SubmitFHIR(with(tt.key), patient)
			if status.Code(err) != tt.want {
				t.Fatalf("SubmitFHIR: %v, want %s", err, tt.want)
			}
		})
	}
	if n := metrictest.Value(t, g.reg, "gateway_auth_failures_total", map[string]string{"door": "api"}); n != 4 {
		t.Fatalf("auth failures = %v, want 4", n)
	}
	if r, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health without a token: %v %v, want SERVING", r, err)
	}

	// An invented method is authenticated like any other, then refused to
	// every token (no row in the scope table) and counted under "other".
	invent := func(key string) error {
		return cc.Invoke(with(key), "/gateway.v1.GatewayService/Invented", &gatewayv1.SubmitFHIRRequest{}, &gatewayv1.SubmitFHIRResponse{})
	}
	if err := invent(""); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("invented method without a token: %v, want UNAUTHENTICATED", err)
	}
	if err := invent("k-ehr"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("invented method with a key: %v, want PERMISSION_DENIED", err)
	}
	if n := metrictest.Value(t, g.reg, "gateway_grpc_calls_total", map[string]string{"listener": "api", "method": "other", "code": "PermissionDenied"}); n != 1 {
		t.Fatalf("calls{other,PermissionDenied} = %v, want 1", n)
	}

	// One stream at a time: a second StreamHL7 is refused at once.
	first, err := cl.StreamHL7(with("k-lab"))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Send(&gatewayv1.StreamHL7Request{Message: adtA01(t)}); err != nil {
		t.Fatal(err)
	}
	if r, err := first.Recv(); err != nil || r.GetOutcome().GetStatus() != gatewayv1.OutcomeStatus_OUTCOME_STATUS_ACCEPTED {
		t.Fatalf("first stream: %v %v", r, err)
	}
	second, err := cl.StreamHL7(with("k-lab"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Recv(); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second stream: %v, want RESOURCE_EXHAUSTED", err)
	}
	if n := metrictest.Value(t, g.reg, "gateway_connections_rejected_total", map[string]string{"listener": "api", "reason": "max_streams"}); n != 1 {
		t.Fatalf("max_streams rejections = %v, want 1", n)
	}
	_ = first.CloseSend()
	if n := metrictest.Value(t, g.reg, "gateway_grpc_calls_total", map[string]string{"listener": "api", "method": "/gateway.v1.GatewayService/SubmitFHIR", "code": "Unauthenticated"}); n != 3 {
		t.Fatalf("calls{SubmitFHIR,Unauthenticated} = %v, want 3", n)
	}
}

func TestGRPCOversizedMessageIsResourceExhaustedAndCounted(t *testing.T) {
	cfg := testConfig()
	cfg.Connectors = []config.Connector{{Name: "api", Type: config.TypeGRPC, Config: map[string]string{"grpc.max.message.bytes": "1000"}}}
	g, _ := startGateway(t, cfg)
	cc, err := grpc.NewClient(g.grpc[0].ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	big := make([]byte, 200<<10) // past the limit plus the envelope's room
	_, err = gatewayv1.NewGatewayServiceClient(cc).SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: big})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized SubmitHL7: %v, want RESOURCE_EXHAUSTED", err)
	}
	testwait.For(t, 10*time.Second, "the refusal counted", func() bool {
		return metrictest.Value(t, g.reg, "gateway_grpc_calls_total", map[string]string{"listener": "api", "code": "ResourceExhausted"}) == 1
	})
}
