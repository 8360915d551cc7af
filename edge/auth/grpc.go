package auth

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// gatewayService is the full name of gateway.v1.GatewayService.
const gatewayService = "/gateway.v1.GatewayService/"

// GRPCMethods is the gRPC door's scope table, by full method name. The
// REST-form methods (PostHL7, CreateResource, ...) are callable over gRPC
// too, so they carry the scope of their REST route. Health is public (load
// balancers); server reflection needs any valid credential. A method with
// no row, a method the gateway does not serve included, is refused to
// every credential (deny by default); routes_test.go checks every method
// of the served service descriptors against this table.
var GRPCMethods = map[string]Rule{
	gatewayService + "SubmitHL7":      hl7Write,
	gatewayService + "StreamHL7":      hl7Write,
	gatewayService + "PostHL7":        hl7Write,
	gatewayService + "SubmitFHIR":     fhirWrite,
	gatewayService + "CreateResource": fhirWrite,
	gatewayService + "UpdateResource": fhirWrite,
	gatewayService + "DeleteResource": fhirWrite,
	gatewayService + "SubmitBundle":   fhirWrite,

	"/grpc.health.v1.Health/Check": public,
	"/grpc.health.v1.Health/Watch": public,
	"/grpc.health.v1.Health/List":  public,

	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      anyToken,
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": anyToken,
}

// ScopeForMethod looks fullMethod up in GRPCMethods; ok is false when it
// has no row (refused to every credential).
func ScopeForMethod(fullMethod string) (rule Rule, ok bool) {
	rule, ok = GRPCMethods[fullMethod]
	return rule, ok
}

// UnaryInterceptor authenticates unary calls from the authorization
// metadata, with ScopeForMethod's scopes. A refused call fails with
// UNAUTHENTICATED (Missing, Invalid, Expired) or PERMISSION_DENIED
// (InsufficientScope) and the handler is not called; an accepted one
// reaches the handler with the Principal in its context. door labels the
// metrics and logs. On a nil *Authenticator it passes every call through.
func (a *Authenticator) UnaryInterceptor(door string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.admitRPC(ctx, door, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamInterceptor is UnaryInterceptor for streams: the credentials are
// checked once, when the stream starts (StreamHL7 included), and the
// handler's stream context carries the Principal.
func (a *Authenticator) StreamInterceptor(door string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.admitRPC(ss.Context(), door, info.FullMethod)
		if err != nil {
			return err
		}
		if ctx != ss.Context() {
			ss = &principalStream{ServerStream: ss, ctx: ctx}
		}
		return handler(srv, ss)
	}
}

// admitRPC authenticates one call; it returns ctx unchanged for public
// methods and on a nil *Authenticator.
func (a *Authenticator) admitRPC(ctx context.Context, door, method string) (context.Context, error) {
	if a == nil {
		return ctx, nil
	}
	rule, routed := ScopeForMethod(method)
	if routed && rule.Public {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	remote := ""
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		remote = pr.Addr.String()
	}
	p, e := a.admit(ctx, door, md.Get("authorization"), rule.Scope, routed, remote, method)
	if e != nil {
		code := codes.Unauthenticated
		if e.Kind == InsufficientScope {
			code = codes.PermissionDenied
		}
		return ctx, status.Error(code, e.Msg)
	}
	return WithPrincipal(ctx, p), nil
}

// principalStream is a ServerStream whose context carries the Principal.
type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }
