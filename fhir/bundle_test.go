package fhir

import (
	"errors"
	"testing"

	"github.com/hl7gw/gateway/validation"
)

func TestSplitBatch(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		want     []Entry
		wantCode validation.Code
		wantLoc  string
	}{
		{
			name: "a batch splits into its entries with their requests",
			body: `{"resourceType":"Bundle","type":"batch","entry":[
			  {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
			  {"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"PUT","url":"Patient/p2"}},
			  {"request":{"method":"DELETE","url":"Observation/o3"}}]}`,
			want: []Entry{
				{Action: ActionCreate, ResourceType: "Patient", FullURL: "urn:uuid:1", Body: []byte(`{"resourceType":"Patient"}`), Index: 0},
				{Action: ActionUpdate, ResourceType: "Patient", ID: "p2", Body: []byte(`{"resourceType":"Patient","id":"p2"}`), Index: 1},
				{Action: ActionDelete, ResourceType: "Observation", ID: "o3", Index: 2},
			},
		},
		{name: "a transaction is not a batch", body: `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient/1"}}]}`, wantCode: validation.CodeDataType, wantLoc: "Bundle.type"},
		{name: "an unknown bundle type is a table error", body: `{"resourceType":"Bundle","type":"heap"}`, wantCode: validation.CodeTableValue, wantLoc: "Bundle.type"},
		{name: "a batch without entries is refused", body: `{"resourceType":"Bundle","type":"batch"}`, wantCode: validation.CodeRequiredMissing, wantLoc: "Bundle.entry"},
		{name: "an entry without a request is refused at its method", body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"DELETE","url":"Patient/1"}},{"resource":{"resourceType":"Patient"}}]}`, wantCode: validation.CodeRequiredMissing, wantLoc: "Bundle.entry[1].request.method"},
		{name: "an unknown HTTP verb is a table error", body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"FETCH","url":"Patient/1"}}]}`, wantCode: validation.CodeTableValue, wantLoc: "Bundle.entry[0].request.method"},
		{name: "a GET entry is not ingested", body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/1"}}]}`, wantCode: validation.CodeUnsupportedEvent, wantLoc: "Bundle.entry[0].request.method"},
		{name: "a resource of another type than its url is refused", body: `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Observation"}}]}`, wantCode: validation.CodeDataType, wantLoc: "Bundle.entry[0].resource.resourceType"},
		{name: "a PUT whose resource id differs from the url is refused", body: `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/b"}}]}`, wantCode: validation.CodeDataType, wantLoc: "Bundle.entry[0].resource.id"},
		{name: "a POST without resource is refused", body: `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"POST","url":"Patient"}}]}`, wantCode: validation.CodeRequiredMissing, wantLoc: "Bundle.entry[0].resource"},
		{name: "a body that is not a Bundle is refused", body: `{"resourceType":"Patient"}`, wantCode: validation.CodeDataType, wantLoc: "Bundle.resourceType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SplitBatch([]byte(tt.body))
			if tt.wantCode != validation.CodeOK {
				var ve *validation.Error
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want a *validation.Error", err)
				}
				if f := ve.Findings[0]; f.Code != tt.wantCode || f.Location != tt.wantLoc {
					t.Errorf("finding %v, want %d at %s", f, tt.wantCode, tt.wantLoc)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d entries, want %d", len(got), len(tt.want))
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Action != w.Action || g.ResourceType != w.ResourceType || g.ID != w.ID || g.FullURL != w.FullURL || string(g.Body) != string(w.Body) || g.Index != w.Index {
					t.Errorf("entry %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}
