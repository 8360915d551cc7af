package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestMuxAnswers405WithAllow: RFC 9110 requires Allow on every 405;
// schemathesis (test/openapi) found it missing where the grpc-gateway mux,
// not FHIR's manners, refuses the method.
func TestMuxAnswers405WithAllow(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name, method, path, wantAllow, wantType string
	}{
		{"GET on the HL7 route allows POST", "GET", "/v1/hl7", "POST", "text/plain"},
		{"PUT on the HL7 route allows POST", "PUT", "/v1/hl7", "POST", "text/plain"},
		{"TRACE on the HL7 route allows POST", "TRACE", "/v1/hl7", "POST", "text/plain"},
		{"GET on a type FHIR does not name allows POST", "GET", "/fhir/_x", "POST", "application/fhir+json"},
		{"GET on an instance of such a type allows PUT and DELETE", "GET", "/fhir/_x/1", "PUT, DELETE", "application/fhir+json"},
		{"PATCH on such an instance allows PUT and DELETE", "PATCH", "/fhir/_x/1", "PUT, DELETE", "application/fhir+json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, tc.method, tc.path, "", nil)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("status %d, want 405: %.200s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Allow"); got != tc.wantAllow {
				t.Fatalf("Allow %q, want %q", got, tc.wantAllow)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
				t.Fatalf("Content-Type %q, want %s", ct, tc.wantType)
			}
		})
	}
}
