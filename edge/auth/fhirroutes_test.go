package auth

import (
	"net/http/httptest"
	"testing"
)

// TestFHIRDoorAnswersAreReachedWithFHIRWrite: the FHIR door's own answers
// (405 for search and operations, 400 for a conditional update or delete
// by search) need fhir:write like the writes they stand beside, and the
// CapabilityStatement needs no token.
func TestFHIRDoorAnswersAreReachedWithFHIRWrite(t *testing.T) {
	table := GatewayRouteTable()
	tests := []struct {
		name, method, target string
		want                 Rule
	}{
		{"metadata is public", "GET", "/fhir/metadata", public},
		{"metadata by HEAD is public", "HEAD", "/fhir/metadata", public},
		{"search by POST needs fhir:write", "POST", "/fhir/Patient/_search", fhirWrite},
		{"an operation needs fhir:write", "POST", "/fhir/Patient/$validate", fhirWrite},
		{"a conditional update needs fhir:write", "PUT", "/fhir/Patient?identifier=x", fhirWrite},
		{"a conditional delete needs fhir:write", "DELETE", "/fhir/Patient?identifier=x", fhirWrite},
		{"history needs fhir:write", "GET", "/fhir/Patient/1/_history", fhirWrite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rule, pattern, ok := table.Lookup(httptest.NewRequest(tt.method, tt.target, nil))
			if !ok || rule != tt.want {
				t.Errorf("%s %s: rule %+v from %q (found %v), want %+v", tt.method, tt.target, rule, pattern, ok, tt.want)
			}
		})
	}
}
