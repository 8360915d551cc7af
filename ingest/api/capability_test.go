package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/fhir/fhirval"
)

// TestCapabilityStatesTheConfiguration: the security and versioning the
// statement declares follow the connector's configuration, and every
// variant passes strict validation.
func TestCapabilityStatesTheConfiguration(t *testing.T) {
	published := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		opts           CapabilityOptions
		wantServices   string // coding codes or texts, comma separated
		wantDesc       string
		wantVersioning string
	}{
		{"no authentication says so", CapabilityOptions{}, "", "No authentication", "versioned"},
		{"JWTs are OAuth bearer tokens", CapabilityOptions{JWT: true}, "OAuth", "JWT bearer tokens", "versioned"},
		{"API keys are named in text", CapabilityOptions{APIKeys: true}, "Bearer API key", "API keys", "versioned"},
		{"required client certificates are Certificates", CapabilityOptions{ClientCertificates: true, JWT: true}, "OAuth,Certificates", "TLS client certificates", "versioned"},
		{"records as received carry no version", CapabilityOptions{RecordAsReceived: true}, "", "No authentication", "no-version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Published = published
			body := capability(tt.opts, "https://gw.example.org/fhir")
			if _, fs := fhirval.Check(body, fhirval.Options{Strict: true}); len(fs) > 0 {
				t.Fatalf("fails strict validation: %v", fs)
			}
			var cs struct {
				Date string
				Rest []struct {
					Security struct {
						Service []struct {
							Coding []struct{ Code string }
							Text   string
						}
						Description string
					}
					Resource []struct{ Versioning string }
				}
			}
			if err := json.Unmarshal(body, &cs); err != nil {
				t.Fatal(err)
			}
			var services []string
			for _, s := range cs.Rest[0].Security.Service {
				if len(s.Coding) > 0 {
					services = append(services, s.Coding[0].Code)
				} else {
					services = append(services, s.Text)
				}
			}
			if got := strings.Join(services, ","); got != tt.wantServices {
				t.Errorf("security services %q, want %q", got, tt.wantServices)
			}
			if d := cs.Rest[0].Security.Description; !strings.Contains(d, tt.wantDesc) {
				t.Errorf("security description %q does not mention %q", d, tt.wantDesc)
			}
			if v := cs.Rest[0].Resource[0].Versioning; v != tt.wantVersioning {
				t.Errorf("versioning %q, want %q", v, tt.wantVersioning)
			}
			if cs.Date != "2026-12-02T12:00:00Z" {
				t.Errorf("date %q, want the time the configuration was loaded", cs.Date)
			}
		})
	}
}
