package auth

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/edge/auth/authtest"
	"github.com/hl7gw/gateway/internal/metrictest"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// fakeGateway answers with the caller's principal name, so the tests see
// that the handler ran and with whose identity.
type fakeGateway struct {
	gatewayv1.UnimplementedGatewayServiceServer
}

func callerOf(ctx context.Context) string {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return "anonymous"
	}
	return p.Name
}

func (fakeGateway) SubmitHL7(ctx context.Context, _ *gatewayv1.SubmitHL7Request) (*gatewayv1.SubmitHL7Response, error) {
	return &gatewayv1.SubmitHL7Response{AckCode: callerOf(ctx)}, nil
}

func (fakeGateway) SubmitFHIR(ctx context.Context, _ *gatewayv1.SubmitFHIRRequest) (*gatewayv1.SubmitFHIRResponse, error) {
	return &gatewayv1.SubmitFHIRResponse{Id: callerOf(ctx)}, nil
}

func (fakeGateway) StreamHL7(s grpc.BidiStreamingServer[gatewayv1.StreamHL7Request, gatewayv1.StreamHL7Response]) error {
	for seq := uint64(0); ; seq++ {
		if _, err := s.Recv(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := s.Send(&gatewayv1.StreamHL7Response{Sequence: seq, AckCode: callerOf(s.Context())}); err != nil {
			return err
		}
	}
}

// startGRPC serves the fake gateway, health and reflection on loopback
// behind a's interceptors and returns a client connection.
func startGRPC(t *testing.T, a *Authenticator) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.ChainUnaryInterceptor(a.UnaryInterceptor("grpc")), grpc.ChainStreamInterceptor(a.StreamInterceptor("grpc")))
	gatewayv1.RegisterGatewayServiceServer(s, fakeGateway{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// streamHL7 sends n messages on one stream and returns the answers' ack
// codes, or the stream's error.
func streamHL7(ctx context.Context, c gatewayv1.GatewayServiceClient, n int) ([]string, error) {
	s, err := c.StreamHL7(ctx)
	if err != nil {
		return nil, err
	}
	for range n {
		if err := s.Send(&gatewayv1.StreamHL7Request{Message: []byte("MSH|^~\\&|\r")}); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	var codes []string
	for {
		r, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return codes, nil
		} else if err != nil {
			return codes, err
		}
		codes = append(codes, r.GetAckCode())
	}
}

func TestGRPCInterceptorsOverALoopbackServer(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := New(context.Background(), Config{
		APIKeys: []APIKey{{Name: "reader", Hash: HashKey("reader-key-8d1e77c0")}}, // no scope at all
		JWT:     &JWTConfig{JWKSFile: authtest.WriteJWKS(t, t.TempDir()), Issuer: authtest.Issuer, Audience: authtest.Audience},
	}, NewMetrics(reg), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn := startGRPC(t, a)
	gw := gatewayv1.NewGatewayServiceClient(conn)
	hl7 := authtest.Token(t, authtest.Claims("lab-1", ScopeHL7Write))
	fhir := authtest.Token(t, authtest.Claims("ehr-1", ScopeFHIRWrite))
	expired := authtest.Token(t, authtest.Expired(authtest.Claims("lab-1", ScopeHL7Write)))

	call := map[string]func(context.Context) (string, error){
		"SubmitHL7": func(ctx context.Context) (string, error) {
			r, err := gw.SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: []byte("MSH|")})
			return r.GetAckCode(), err
		},
		"SubmitFHIR": func(ctx context.Context) (string, error) {
			r, err := gw.SubmitFHIR(ctx, &gatewayv1.SubmitFHIRRequest{Resource: []byte("{}")})
			return r.GetId(), err
		},
		"StreamHL7": func(ctx context.Context) (string, error) {
			codes, err := streamHL7(ctx, gw, 3)
			return strings.Join(codes, ","), err
		},
		"PostHL7": func(ctx context.Context) (string, error) {
			_, err := gw.PostHL7(ctx, &gatewayv1.PostHL7Request{})
			return "", err
		},
		"Health": func(ctx context.Context) (string, error) {
			r, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			return r.GetStatus().String(), err
		},
		"Reflection": func(ctx context.Context) (string, error) {
			s, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
			if err != nil {
				return "", err
			}
			// A refused stream fails Send with io.EOF; Recv has the status.
			err = s.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
			if err != nil && !errors.Is(err, io.EOF) {
				return "", err
			}
			r, err := s.Recv()
			for _, svc := range r.GetListServicesResponse().GetService() {
				if svc.GetName() == "gateway.v1.GatewayService" {
					return svc.GetName(), err
				}
			}
			return "", err
		},
	}
	tests := []struct {
		name     string
		method   string
		token    string
		wantCode codes.Code
		wantMsg  string // the status message, or the handler's answer on OK
		reason   string // the failure counted
	}{
		{"SubmitHL7 without credentials is UNAUTHENTICATED", "SubmitHL7", "", codes.Unauthenticated, "missing bearer token", "missing"},
		{"SubmitHL7 with a garbage token is UNAUTHENTICATED", "SubmitHL7", "x.y.z", codes.Unauthenticated, "malformed token: bad base64url", "invalid"},
		{"SubmitHL7 with an expired token is UNAUTHENTICATED", "SubmitHL7", expired, codes.Unauthenticated, "token expired", "expired"},
		{"SubmitHL7 with fhir:write only is PERMISSION_DENIED", "SubmitHL7", fhir, codes.PermissionDenied, "credentials lack scope hl7:write", "insufficient_scope"},
		{"SubmitHL7 with hl7:write reaches the handler", "SubmitHL7", hl7, codes.OK, "lab-1", ""},
		{"SubmitFHIR with hl7:write only is PERMISSION_DENIED", "SubmitFHIR", hl7, codes.PermissionDenied, "credentials lack scope fhir:write", "insufficient_scope"},
		{"SubmitFHIR with fhir:write reaches the handler", "SubmitFHIR", fhir, codes.OK, "ehr-1", ""},
		{"StreamHL7 without credentials is UNAUTHENTICATED", "StreamHL7", "", codes.Unauthenticated, "missing bearer token", "missing"},
		{"StreamHL7 with fhir:write only is PERMISSION_DENIED", "StreamHL7", fhir, codes.PermissionDenied, "credentials lack scope hl7:write", "insufficient_scope"},
		{"StreamHL7 with hl7:write answers every message as the principal", "StreamHL7", hl7, codes.OK, "lab-1,lab-1,lab-1", ""},
		{"PostHL7 over gRPC needs hl7:write too", "PostHL7", fhir, codes.PermissionDenied, "credentials lack scope hl7:write", "insufficient_scope"},
		{"PostHL7 over gRPC with hl7:write passes authentication", "PostHL7", hl7, codes.Unimplemented, "method PostHL7 not implemented", ""},
		{"health is public", "Health", "", codes.OK, "SERVING", ""},
		{"reflection without credentials is UNAUTHENTICATED", "Reflection", "", codes.Unauthenticated, "missing bearer token", "missing"},
		{"reflection with a scopeless API key is allowed", "Reflection", "reader-key-8d1e77c0", codes.OK, "gateway.v1.GatewayService", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := metrictest.Value(t, reg, "gateway_auth_failures_total", map[string]string{"door": "grpc", "reason": tt.reason})
			ctx := context.Background()
			if tt.token != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tt.token)
			}
			got, err := call[tt.method](ctx)
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("%v, want %v", err, tt.wantCode)
			}
			if tt.wantCode == codes.OK && got != tt.wantMsg || tt.wantCode != codes.OK && st.Message() != tt.wantMsg {
				t.Fatalf("answer %q, status %q; want %q", got, st.Message(), tt.wantMsg)
			}
			if tt.reason != "" {
				if n := metrictest.Value(t, reg, "gateway_auth_failures_total", map[string]string{"door": "grpc", "reason": tt.reason}); n != before+1 {
					t.Fatalf("failures{reason=%s} = %v, want %v", tt.reason, n, before+1)
				}
			}
		})
	}
	// SubmitHL7, SubmitFHIR, one StreamHL7 stream (checked once, not per
	// message), PostHL7: four JWT successes; reflection: one API key.
	if n := metrictest.Value(t, reg, "gateway_auth_success_total", map[string]string{"door": "grpc", "kind": "jwt"}); n != 4 {
		t.Errorf("jwt successes %v, want 4", n)
	}
	if n := metrictest.Value(t, reg, "gateway_auth_success_total", map[string]string{"door": "grpc", "kind": "api_key"}); n != 1 {
		t.Errorf("api_key successes %v, want 1", n)
	}
}

func TestNilAuthenticatorInterceptorsPassThrough(t *testing.T) {
	var a *Authenticator
	gw := gatewayv1.NewGatewayServiceClient(startGRPC(t, a))
	r, err := gw.SubmitHL7(context.Background(), &gatewayv1.SubmitHL7Request{})
	if err != nil || r.GetAckCode() != "anonymous" {
		t.Fatalf("SubmitHL7: %v, %v", r, err)
	}
	codes, err := streamHL7(context.Background(), gw, 2)
	if err != nil || strings.Join(codes, ",") != "anonymous,anonymous" {
		t.Fatalf("StreamHL7: %v, %v", codes, err)
	}
}

func TestScopeForMethod(t *testing.T) {
	tests := []struct {
		method string
		want   Rule
		routed bool
	}{
		{"/gateway.v1.GatewayService/SubmitHL7", Rule{Scope: ScopeHL7Write}, true},
		{"/gateway.v1.GatewayService/StreamHL7", Rule{Scope: ScopeHL7Write}, true},
		{"/gateway.v1.GatewayService/SubmitFHIR", Rule{Scope: ScopeFHIRWrite}, true},
		{"/gateway.v1.GatewayService/CreateResource", Rule{Scope: ScopeFHIRWrite}, true},
		{"/gateway.v1.GatewayService/SubmitBundle", Rule{Scope: ScopeFHIRWrite}, true},
		{"/grpc.health.v1.Health/Check", Rule{Public: true}, true},
		{"/grpc.health.v1.Health/Watch", Rule{Public: true}, true},
		{"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", Rule{}, true},
		{"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", Rule{}, true},
		{"/gateway.v1.GatewayService/NotAMethod", Rule{}, false},
		{"/grpc.health.v1.HealthX/Check", Rule{}, false},
		{"/grpc.health.v1.Health/check", Rule{}, false},
	}
	for _, tt := range tests {
		rule, routed := ScopeForMethod(tt.method)
		if rule != tt.want || routed != tt.routed {
			t.Errorf("%s: (%+v, %v), want (%+v, %v)", tt.method, rule, routed, tt.want, tt.routed)
		}
	}
}
