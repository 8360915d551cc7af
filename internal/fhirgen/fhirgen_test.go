package fhirgen

import (
	"encoding/json"
	"testing"

	"github.com/hl7gw/gateway/fhir"
)

func TestPatientTransaction(t *testing.T) {
	tests := []struct {
		name     string
		prefix   string
		n        int
		wantIDs  []string
		wantSize int
	}{
		{"three creates named after the prefix", "TXB12-", 3, []string{"TXB12-0", "TXB12-1", "TXB12-2"}, 3},
		{"one create", "scale-a-", 1, []string{"scale-a-0"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := PatientTransaction(tt.prefix, tt.n, "Txn")
			var b struct {
				ResourceType, Type string
				Entry              []struct {
					FullURL  string `json:"fullUrl"`
					Resource struct {
						ResourceType, ID string
						Name             []struct{ Family string }
					}
					Request struct{ Method, URL string }
				}
			}
			if err := json.Unmarshal(raw, &b); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, raw)
			}
			if b.ResourceType != "Bundle" || b.Type != "transaction" || len(b.Entry) != tt.wantSize {
				t.Fatalf("bundle %s/%s with %d entries", b.ResourceType, b.Type, len(b.Entry))
			}
			urls := map[string]bool{}
			for i, e := range b.Entry {
				if e.Resource.ResourceType != "Patient" || e.Resource.ID != tt.wantIDs[i] || e.Resource.Name[0].Family != "Txn" ||
					e.Request.Method != "POST" || e.Request.URL != "Patient" || urls[e.FullURL] {
					t.Errorf("entry %d = %+v", i, e)
				}
				urls[e.FullURL] = true
			}
			if _, entries, err := fhir.ParseTransaction(raw, func() string { return "new" }); err != nil || len(entries) != tt.wantSize {
				t.Errorf("the FHIR door's own parser: %d entries, %v", len(entries), err)
			}
		})
	}
}
