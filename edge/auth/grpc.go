package auth

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// gatewayService is the full name of gateway.v1.GatewayService.
const gatewayService = "/gateway.v1.GatewayService/"

// methodScopes are the scopes of the gateway's methods. The REST-form
// methods (PostHL7, CreateResource, ...) are callable over gRPC too, so
// they carry the scope of their REST route.
var methodScopes = map[string]string{
	gatewayService + "SubmitHL7":      ScopeHL7Write,
	gatewayService + "StreamHL7":      ScopeHL7Write,
	gatewayService + "PostHL7":        ScopeHL7Write,
	gatewayService + "SubmitFHIR":     ScopeFHIRWrite,
	gatewayService + "CreateResource": ScopeFHIRWrite,
	gatewayService + "UpdateResource": ScopeFHIRWrite,
	gatewayService + "DeleteResource": ScopeFHIRWrite,
	gatewayService + "SubmitBundle":   ScopeFHIRWrite,
}

// ScopeForMethod is the gRPC door's route table: SubmitHL7, StreamHL7 (and
// PostHL7) need hl7:write; SubmitFHIR (and the FHIR REST-form methods)
// fhir:write; grpc.health.v1.Health is public; server reflection and any
// other method need an authenticated principal with no particular scope.
func ScopeForMethod(fullMethod string) (scope string, public bool) {
	if strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") {
		return "", true
	}
	return methodScopes[fullMethod], false
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
	scope, public := ScopeForMethod(method)
	if public {
		return ctx, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	remote := ""
	if pr, ok := peer.FromContext(ctx); ok && pr.Addr != nil {
		remote = pr.Addr.String()
	}
	p, e := a.admit(ctx, door, md.Get("authorization"), scope, remote, method)
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
