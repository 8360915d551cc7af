package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestHL7RouteAnswersOtherMethods405WithAllow: RFC 9110 requires Allow on
// every 405; schemathesis (test/openapi) found it missing on /v1/hl7.
func TestHL7RouteAnswersOtherMethods405WithAllow(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch, "TRACE"} {
		t.Run(method+" /v1/hl7 is 405 allowing POST", func(t *testing.T) {
			resp, body := e.do(t, method, "/v1/hl7", "", nil)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("status %d, want 405: %.200s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Allow"); got != http.MethodPost {
				t.Fatalf("Allow %q, want POST", got)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("Content-Type %q, want text/plain", ct)
			}
		})
	}
}
