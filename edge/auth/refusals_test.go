package auth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hl7gw/gateway/edge/netallow"
	"github.com/hl7gw/gateway/internal/metrictest"
)

// fakeClock is a settable clock for the refusal log.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestTenThousandBadTokensLogABoundedNumberOfLines(t *testing.T) {
	reg := prometheus.NewRegistry()
	log, logs := newTestLogger()
	a, err := New(t.Context(), Config{APIKeys: []APIKey{{Name: "ehr", Hash: HashKey(testFHIRKey), Scopes: []string{ScopeFHIRWrite}}}}, NewMetrics(reg), log)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	a.refusals = netallow.NewRefusalLog(log, netallow.RefusalLogOptions{Summary: refusalSummary, Now: clock.now})
	h := a.HTTPMiddleware("fhir-rest", GatewayRouteTable(), http.NotFoundHandler())
	send := func(remote string, i int) {
		r := httptest.NewRequest("POST", "http://gw/fhir/Patient", nil)
		r.RemoteAddr = remote
		r.Header.Set("Authorization", fmt.Sprintf("Bearer bad-token-%d", i))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("bad token %d answered %d", i, w.Code)
		}
	}
	// 10,000 bad tokens from one address, over many ports, within one interval.
	for i := range 10_000 {
		send(fmt.Sprintf("192.0.2.7:%d", 1024+i%60000), i)
	}
	lines := strings.Count(logs.String(), "auth: request refused")
	if lines != netallow.RefusalLogFirst {
		t.Fatalf("%d refusal lines for 10,000 bad tokens from one address, want %d", lines, netallow.RefusalLogFirst)
	}
	if got := metrictest.Value(t, reg, "gateway_auth_failures_total", map[string]string{"door": "fhir-rest", "reason": "invalid"}); got != 10_000 {
		t.Fatalf("failures counted %v, want every one of 10,000", got)
	}
	// A second address has its own first lines.
	for i := range 10 {
		send("198.51.100.3:4000", i)
	}
	if lines := strings.Count(logs.String(), "auth: request refused"); lines != 2*netallow.RefusalLogFirst {
		t.Fatalf("%d refusal lines after a second address, want %d", lines, 2*netallow.RefusalLogFirst)
	}
	// Once the interval has passed, the next refusal writes one summary
	// per address with the exact count not logged, then logs again.
	clock.add(netallow.RefusalLogInterval + time.Second)
	send("192.0.2.7:5000", 0)
	out := logs.String()
	for _, want := range []string{
		fmt.Sprintf("msg=\"auth: refusals not logged\" source=192.0.2.7 count=%d", 10_000-netallow.RefusalLogFirst),
		fmt.Sprintf("msg=\"auth: refusals not logged\" source=198.51.100.3 count=%d", 10-netallow.RefusalLogFirst),
	} {
		if strings.Count(out, want) != 1 {
			t.Fatalf("logs lack exactly one %q:\n%s", want, tail(out, 2000))
		}
	}
	if lines := strings.Count(out, "auth: request refused"); lines != 2*netallow.RefusalLogFirst+1 {
		t.Fatalf("%d refusal lines in the new interval, want %d", lines, 2*netallow.RefusalLogFirst+1)
	}
	if strings.Contains(out, "bad-token-") {
		t.Fatal("a token was logged")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
