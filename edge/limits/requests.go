package limits

import (
	"context"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// RequestMetrics count every HTTP response by status and every gRPC call by
// code, per listener, so that each limit's answer (413, 415, 408, 401, 403,
// 503; RESOURCE_EXHAUSTED for an oversized message, which gRPC refuses
// before any interceptor runs) shows in a metric. A nil *RequestMetrics
// records nothing.
type RequestMetrics struct {
	http *prometheus.CounterVec
	grpc *prometheus.CounterVec
}

// NewRequestMetrics creates and registers
// gateway_http_responses_total{listener,code} and
// gateway_grpc_calls_total{listener,method,code}.
func NewRequestMetrics(reg prometheus.Registerer) *RequestMetrics {
	m := &RequestMetrics{
		http: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_responses_total",
			Help: "HTTP responses of the REST doors, by status code.",
		}, []string{"listener", "code"}),
		grpc: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_grpc_calls_total",
			Help: "gRPC calls ended, by method and status code.",
		}, []string{"listener", "method", "code"}),
	}
	reg.MustRegister(m.http, m.grpc)
	return m
}

// HTTP wraps h to count its responses on listener. It adds one small
// allocation per request and never buffers the body.
func (m *RequestMetrics) HTTP(listener string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		code := sw.code
		if code == 0 {
			code = http.StatusOK // nothing written: net/http answers 200
		}
		m.http.WithLabelValues(listener, strconv.Itoa(code)).Inc()
	})
}

// statusWriter remembers the status written. Unwrap lets
// http.ResponseController reach the connection's deadlines and flushes.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush through when the writer supports it.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// GRPC returns a gRPC stats handler (grpc.StatsHandler) counting every call
// of listener when it ends, by full method and code. Methods not in
// methods (full names, "/pkg.Service/Method") are counted as "other", so
// that a client inventing method names cannot grow the label set.
func (m *RequestMetrics) GRPC(listener string, methods []string) stats.Handler {
	known := make(map[string]bool, len(methods))
	for _, n := range methods {
		known[n] = true
	}
	return &grpcStats{m: m, listener: listener, known: known}
}

// UnknownMethod is a grpc.UnknownServiceHandler that answers UNIMPLEMENTED,
// as grpc-go does by default, but through the ordinary call path: without
// it grpc-go answers a call to an unknown service or method before any
// stats handler sees it end, so GRPC's counter missed such calls, and no
// interceptor ran, so an unauthenticated client could probe which methods
// exist. With it, the call is counted (as "other") and authenticated first.
func UnknownMethod(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	return status.Errorf(codes.Unimplemented, "unknown method %s", method)
}

type grpcStats struct {
	m        *RequestMetrics
	listener string
	known    map[string]bool
}

type methodKey struct{}

func (s *grpcStats) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	method := info.FullMethodName
	if !s.known[method] {
		method = "other"
	}
	return context.WithValue(ctx, methodKey{}, method)
}

func (s *grpcStats) HandleRPC(ctx context.Context, st stats.RPCStats) {
	end, ok := st.(*stats.End)
	if !ok || s.m == nil {
		return
	}
	method, _ := ctx.Value(methodKey{}).(string)
	s.m.grpc.WithLabelValues(s.listener, method, status.Code(end.Error).String()).Inc()
}

func (s *grpcStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (s *grpcStats) HandleConn(context.Context, stats.ConnStats) {}
