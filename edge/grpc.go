package edge

import (
	"log/slog"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	"github.com/hl7gw/gateway/edge/limits"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// grpcHTTP2Streams caps HTTP/2 streams (calls, unary ones included) per
// gRPC connection. It is not grpc.max.concurrent.streams: past an HTTP/2
// cap a client queues its calls silently, while the gateway's stream
// bound must answer RESOURCE_EXHAUSTED at once.
const grpcHTTP2Streams = 1000

// GRPCOptions are the gRPC server options of the edge: TLS credentials,
// a handler's panic answered INTERNAL instead of ending the process
// (grpcrecover.go), authentication (before any handler runs), the stream
// bound, calls counted by method and code, and keepalive enforcement with
// the connection idle and age limits. Serve the server on Builder.Listener's
// listener, which admits connections before the TLS handshake.
func (c *Connector) GRPCOptions() []grpc.ServerOption {
	s, b := c.settings, c.b
	log := b.o.Logger.With(slog.String("connector", c.name))
	opts := []grpc.ServerOption{
		grpc.StatsHandler(b.requests.GRPC(c.name, GRPCMethods())),
		grpc.MaxConcurrentStreams(uint32(max(grpcHTTP2Streams, s.Edge.MaxStreams))),
		grpc.ChainUnaryInterceptor(recoverUnary(log), c.auth.UnaryInterceptor(c.name)),
		grpc.ChainStreamInterceptor(recoverStream(log), c.auth.StreamInterceptor(c.name), b.limits.StreamLimit(c.name, s.Edge.MaxStreams)),
		// Unknown methods are answered through the interceptors and counted.
		grpc.UnknownServiceHandler(limits.UnknownMethod),
	}
	opts = append(opts, limits.GRPCKeepalive(limits.ConnLifetime{MaxIdle: s.Edge.MaxConnIdle, MaxAge: s.Edge.MaxConnAge, MaxAgeGrace: s.Edge.MaxConnAgeGrace})...)
	if c.tls != nil {
		opts = append(opts, grpc.Creds(c.tls.GRPCCredentials()))
	}
	return opts
}

// GRPCMethods are the full names of the methods a grpc connector serves,
// the label values of gateway_grpc_calls_total.
func GRPCMethods() []string {
	var out []string
	for _, d := range []grpc.ServiceDesc{gatewayv1.GatewayService_ServiceDesc, healthpb.Health_ServiceDesc,
		reflectionv1.ServerReflection_ServiceDesc, reflectionv1alpha.ServerReflection_ServiceDesc} {
		for _, m := range d.Methods {
			out = append(out, "/"+d.ServiceName+"/"+m.MethodName)
		}
		for _, st := range d.Streams {
			out = append(out, "/"+d.ServiceName+"/"+st.StreamName)
		}
	}
	return out
}
