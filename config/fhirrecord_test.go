package config

import (
	"strings"
	"testing"
)

func TestFHIRRecordForm(t *testing.T) {
	tests := []struct {
		name, typ, value string
		want             bool
		wantErr          string
	}{
		{name: "records are stored forms by default", typ: TypeFHIRREST},
		{name: "stored is the default spelled out", typ: TypeFHIRREST, value: "stored"},
		{name: "as-received keeps the bytes on fhir-rest", typ: TypeFHIRREST, value: "as-received", want: true},
		{name: "as-received keeps the bytes on grpc", typ: TypeGRPC, value: "as-received", want: true},
		{name: "another form is an error naming the key", typ: TypeFHIRREST, value: "raw", wantErr: "config.fhir.record.form"},
		{name: "an MLLP connector has no FHIR records", typ: TypeHL7MLLP, value: "stored", wantErr: "config.fhir.record.form: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Connector{Name: "c", Type: tt.typ, Config: map[string]string{}}
			if tt.value != "" {
				c.Config["fhir.record.form"] = tt.value
			}
			s, err := c.Settings(Default())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.FHIRRecordAsReceived != tt.want {
				t.Errorf("FHIRRecordAsReceived %v, want %v", s.FHIRRecordAsReceived, tt.want)
			}
		})
	}
}
