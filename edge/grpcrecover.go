package edge

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// grpc-go does not recover its handlers' panics: one panic ends the
// process, and with it every sender's calls and the MLLP and HTTP doors.
// The pipeline answers its own steps' panics (gateway_step_panics_total);
// these interceptors are the net under the rest of a call, the first in
// each chain so that they also cover authentication. The call is answered
// INTERNAL, which gateway_grpc_calls_total counts by code, and logged with
// its stack; the panic value may quote the request, so only its type is
// logged, except for runtime errors, whose texts carry no data.

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if v := recover(); v != nil {
				resp, err = nil, panicked(log, info.FullMethod, v)
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = panicked(log, info.FullMethod, v)
			}
		}()
		return handler(srv, ss)
	}
}

func panicked(log *slog.Logger, method string, v any) error {
	log.Error("grpc handler panicked: a bug, the call is answered INTERNAL", "method", method, "panic", panicText(v), "stack", stack())
	return status.Error(codes.Internal, "internal error in the gateway (a bug, logged); whether the request was stored is not known, and resending it may fail the same way")
}

// panicText is what a log may say of a panic value: a runtime error's
// text, which carries no data, or else the value's type only.
func panicText(v any) string {
	if re, ok := v.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("%T", v)
}

func stack() string { return string(debug.Stack()) }
