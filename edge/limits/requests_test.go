package limits_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/edge/limits"
	"github.com/hl7gw/gateway/internal/metrictest"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

func TestHTTPResponsesAreCountedByListenerAndStatus(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := limits.NewRequestMetrics(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("/explicit", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	})
	mux.HandleFunc("/implicit", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/nothing", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "part")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the counting writer: %v", err)
		}
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("deadline through the counting writer (Unwrap): %v", err)
		}
	})
	srv := httptest.NewServer(m.HTTP("fhir-rest", mux))
	defer srv.Close()
	for path, want := range map[string]int{"/explicit": 413, "/implicit": 200, "/nothing": 200, "/flush": 200, "/missing": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s answered %d, want %d", path, resp.StatusCode, want)
		}
	}
	for code, want := range map[string]float64{"200": 3, "404": 1, "413": 1} {
		got := metrictest.Value(t, reg, "gateway_http_responses_total", map[string]string{"listener": "fhir-rest", "code": code})
		if got != want {
			t.Errorf("gateway_http_responses_total{code=%q} = %v, want %v", code, got, want)
		}
	}
}

func TestANilRequestMetricsLeavesTheHandlerAlone(t *testing.T) {
	var m *limits.RequestMetrics
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	rec := httptest.NewRecorder()
	m.HTTP("x", h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusAccepted {
		t.Errorf("answered %d, want 202", rec.Code)
	}
}

// failing answers every SubmitHL7 with UNAVAILABLE.
type failing struct {
	gatewayv1.UnimplementedGatewayServiceServer
}

func (failing) SubmitHL7(context.Context, *gatewayv1.SubmitHL7Request) (*gatewayv1.SubmitHL7Response, error) {
	return nil, status.Error(codes.Unavailable, "broker down")
}

func TestGRPCCallsAreCountedByMethodAndCodeWithUnknownMethodsAsOther(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := limits.NewRequestMetrics(reg)
	submit := gatewayv1.GatewayService_SubmitHL7_FullMethodName
	srv := grpc.NewServer(grpc.StatsHandler(m.GRPC("grpc", []string{submit})), grpc.MaxRecvMsgSize(1024),
		grpc.UnknownServiceHandler(limits.UnknownMethod))
	gatewayv1.RegisterGatewayServiceServer(srv, failing{})
	cc := serve(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := gatewayv1.NewGatewayServiceClient(cc)

	if _, err := cl.SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: []byte("MSH|^~\\&|")}); status.Code(err) != codes.Unavailable {
		t.Fatalf("SubmitHL7: %v, want UNAVAILABLE", err)
	}
	big := &gatewayv1.SubmitHL7Request{Message: []byte(strings.Repeat("x", 4096))}
	if _, err := cl.SubmitHL7(ctx, big); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized SubmitHL7: %v, want RESOURCE_EXHAUSTED", err)
	}
	// A method the server does not know: its invented name must not become a label.
	if err := cc.Invoke(ctx, "/gateway.v1.GatewayService/Invented", &gatewayv1.SubmitHL7Request{}, &gatewayv1.SubmitHL7Response{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("invented method: %v, want UNIMPLEMENTED", err)
	}

	for _, c := range []struct {
		method, code string
		want         float64
	}{
		{submit, "Unavailable", 1},
		{submit, "ResourceExhausted", 1},
		{"other", "Unimplemented", 1},
	} {
		got := metrictest.Value(t, reg, "gateway_grpc_calls_total", map[string]string{"listener": "grpc", "method": c.method, "code": c.code})
		if got != c.want {
			t.Errorf("gateway_grpc_calls_total{method=%q,code=%q} = %v, want %v", c.method, c.code, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(reg, "gateway_grpc_calls_total"); n != 3 {
		t.Errorf("%d gateway_grpc_calls_total series, want 3 (no label for the invented method)", n)
	}
}
