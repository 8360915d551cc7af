package edge

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/edge/limits"
	"github.com/hl7gw/gateway/internal/metrictest"
)

// TestAnHTTPHandlerPanicIsAnswered500AndTheServerGoesOn: through a
// connector's server, a handler that panics before answering gets a 500
// OperationOutcome (counted, logged with its stack, the panic's value not
// quoted); one that panics after it began its answer has the connection
// aborted; a deliberate http.ErrAbortHandler is not logged as a bug; and
// the next request on the listener is served.
func TestAnHTTPHandlerPanicIsAnswered500AndTheServerGoesOn(t *testing.T) {
	f := newFixture(t, limits.Budget{})
	c := f.connector(t, "rest", config.TypeFHIRREST, nil)
	routes := http.NewServeMux()
	routes.HandleFunc("POST /fhir/Patient", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", "secret-patient-location")
		var m map[string]int
		m["secret-patient-name"]++ // a nil map write: a runtime error
	})
	routes.HandleFunc("POST /fhir/Observation", func(http.ResponseWriter, *http.Request) { panic("secret-patient-name") })
	routes.HandleFunc("POST /fhir/Encounter", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"resourceType":`)
		w.(http.Flusher).Flush()
		panic("secret-patient-name")
	})
	routes.HandleFunc("POST /fhir/Condition", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	routes.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	base := "http://" + f.serveHTTP(t, c, routes).Addr().String()
	cl := &http.Client{Timeout: 5 * time.Second}

	for _, typ := range []string{"Patient", "Observation"} {
		resp, err := cl.Post(base+"/fhir/"+typ, "application/fhir+json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("%s: %v, want a 500 answer", typ, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var oo struct {
			ResourceType string
			Issue        []struct{ Severity, Code string }
		}
		if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/fhir+json" ||
			json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 || oo.Issue[0].Code != "exception" {
			t.Fatalf("%s: %d %q %s, want 500 with an OperationOutcome", typ, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Fatalf("%s: the 500 carries the handler's header Location %q", typ, loc)
		}
	}
	if n := metrictest.Value(t, f.reg, "gateway_http_responses_total", map[string]string{"listener": "rest", "code": "500"}); n != 2 {
		t.Fatalf("500 counted %v times, want 2", n)
	}
	for _, typ := range []string{"Encounter", "Condition"} {
		resp, err := cl.Post(base+"/fhir/"+typ, "application/fhir+json", strings.NewReader("{}"))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Fatalf("%s: the answer was completed, want the connection aborted", typ)
		}
	}
	resp, err := cl.Get(base + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the next request: %v, %v", resp, err)
	}
	resp.Body.Close()

	f.panicsLogged(t, "http handler panicked", 3, "answered=false")
}
