package api

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// NewGRPCServer returns a gRPC server with svc as gateway.v1.GatewayService,
// server reflection, and grpc.health.v1.Health whose status follows ready:
// SERVING while ready returns nil, NOT_SERVING otherwise (for the overall
// server "" and for "gateway.v1.GatewayService"). ready is called on every
// Check (bounded by a 2s timeout) and once a second per Watch; nil means
// always ready. The receive limit is svc's MaxBodyBytes plus room for
// the envelope, and the methods refuse a message past MaxBodyBytes
// themselves, so that anything over it is RESOURCE_EXHAUSTED whichever
// check sees it first; opts come after the defaults and may override them. The
// caller serves it (Serve) and stops it (GracefulStop).
func NewGRPCServer(svc *Service, ready func(context.Context) error, opts ...grpc.ServerOption) *grpc.Server {
	limit := int(min(svc.opts.MaxBodyBytes+64<<10, 1<<31-1))
	all := append([]grpc.ServerOption{grpc.MaxRecvMsgSize(limit)}, opts...)
	s := grpc.NewServer(all...)
	gatewayv1.RegisterGatewayServiceServer(s, svc)
	healthpb.RegisterHealthServer(s, &health{ready: ready, poll: time.Second})
	reflection.Register(s)
	return s
}

// health implements grpc.health.v1.Health from a readiness func.
type health struct {
	healthpb.UnimplementedHealthServer
	ready func(context.Context) error
	poll  time.Duration
}

var healthServices = []string{"", gatewayv1.GatewayService_ServiceDesc.ServiceName}

func known(service string) bool {
	for _, s := range healthServices {
		if s == service {
			return true
		}
	}
	return false
}

func (h *health) status(ctx context.Context) healthpb.HealthCheckResponse_ServingStatus {
	if h.ready == nil {
		return healthpb.HealthCheckResponse_SERVING
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if h.ready(ctx) != nil {
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	return healthpb.HealthCheckResponse_SERVING
}

// Check answers NOT_FOUND for services other than "" and GatewayService.
func (h *health) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if !known(req.GetService()) {
		return nil, status.Errorf(codes.NotFound, "unknown service %q", req.GetService())
	}
	return &healthpb.HealthCheckResponse{Status: h.status(ctx)}, nil
}

// List reports every served service's status.
func (h *health) List(ctx context.Context, _ *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	st := h.status(ctx)
	resp := &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{}}
	for _, s := range healthServices {
		resp.Statuses[s] = &healthpb.HealthCheckResponse{Status: st}
	}
	return resp, nil
}

// Watch sends the status now and then each change, polling ready, until
// the client goes away. Unknown services get SERVICE_UNKNOWN, and the
// stream stays open as the health protocol asks.
func (h *health) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	ctx := stream.Context()
	if !known(req.GetService()) {
		if err := stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVICE_UNKNOWN}); err != nil {
			return err
		}
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	last := healthpb.HealthCheckResponse_UNKNOWN
	t := time.NewTicker(h.poll)
	defer t.Stop()
	for {
		if st := h.status(ctx); st != last {
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return err
			}
			last = st
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
	}
}
