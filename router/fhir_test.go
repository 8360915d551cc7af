package router

import (
	"errors"
	"testing"
	"time"

	"github.com/hl7gw/gateway/validation"
)

func TestFHIRTopic(t *testing.T) {
	tests := []struct {
		name, prefix string
		m            FHIRMeta
		want         string
		wantErr      bool
	}{
		{name: "a created patient goes to fhir.patient.created", m: FHIRMeta{ResourceType: "Patient", Action: "create"}, want: "fhir.patient.created"},
		{name: "an update lower-cases a camel-case type", m: FHIRMeta{ResourceType: "MedicationRequest", Action: "update"}, want: "fhir.medicationrequest.updated"},
		{name: "a delete gets the prefix", prefix: "prod.", m: FHIRMeta{ResourceType: "Observation", Action: "delete"}, want: "prod.fhir.observation.deleted"},
		{name: "an unknown action is a routing error", m: FHIRMeta{ResourceType: "Patient", Action: "patch"}, wantErr: true},
		{name: "a missing type is a routing error", m: FHIRMeta{Action: "create"}, wantErr: true},
		{name: "a type with a dot cannot make a topic", m: FHIRMeta{ResourceType: "Pa.tient", Action: "create"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FHIRTopic(tt.prefix, tt.m)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("FHIRTopic = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			var ve *validation.Error
			if err != nil && !errors.As(err, &ve) {
				t.Errorf("error %v is not a *validation.Error", err)
			}
		})
	}
}

func TestFHIRKey(t *testing.T) {
	tests := []struct {
		name string
		m    FHIRMeta
		want string
	}{
		{name: "a patient is keyed by its own id", m: FHIRMeta{ResourceType: "Patient", ID: "123", PatientRef: "Patient/999"}, want: "Patient/123"},
		{name: "an observation is keyed by its subject", m: FHIRMeta{ResourceType: "Observation", ID: "o1", PatientRef: "Patient/123"}, want: "Patient/123"},
		{name: "an absolute reference loses its base", m: FHIRMeta{ResourceType: "Observation", ID: "o1", PatientRef: "https://ehr.example/fhir/Patient/123"}, want: "Patient/123"},
		{name: "a versioned reference loses its history", m: FHIRMeta{ResourceType: "Encounter", ID: "e", PatientRef: "Patient/123/_history/4"}, want: "Patient/123"},
		{name: "a group subject keeps its own type", m: FHIRMeta{ResourceType: "Observation", ID: "o1", PatientRef: "Group/7"}, want: "Group/7"},
		{name: "a urn:uuid reference falls back to the resource", m: FHIRMeta{ResourceType: "Observation", ID: "o1", PatientRef: "urn:uuid:4b1c"}, want: "Observation/o1"},
		{name: "a contained reference falls back to the resource", m: FHIRMeta{ResourceType: "Observation", ID: "o1", PatientRef: "#p"}, want: "Observation/o1"},
		{name: "a relative reference with extra segments is not literal", m: FHIRMeta{ResourceType: "Observation", ID: "o1", PatientRef: "x/Patient/1"}, want: "Observation/o1"},
		{name: "a conditional reference is not literal", m: FHIRMeta{ResourceType: "Observation", ID: "o1", PatientRef: "Patient?identifier=1"}, want: "Observation/o1"},
		{name: "a resource without patient uses its own id", m: FHIRMeta{ResourceType: "Organization", ID: "org"}, want: "Organization/org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FHIRKey(tt.m); got != tt.want {
				t.Errorf("FHIRKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFHIRRecord(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	body := []byte(`{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"}}`)
	warnings := validation.Findings{{Severity: validation.SeverityWarning, Code: validation.CodeSegmentSequence, Location: "Observation.foo"}}
	m := FHIRMeta{ResourceType: "Observation", ID: "o1", Action: "create", PatientRef: "Patient/p1", EventID: "ev-1",
		VersionID: "ev-1", FullURL: "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}
	rec, err := FHIRRecord(body, "prod.", "fhir-rest", m, warnings, now)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Topic != "prod.fhir.observation.created" || string(rec.Key) != "Patient/p1" || &rec.Value[0] != &body[0] {
		t.Errorf("record topic %q key %q (value must alias the body)", rec.Topic, rec.Key)
	}
	want := map[string]string{
		"ce_specversion":     "1.0",
		"ce_id":              "ev-1",
		"ce_source":          "/gateway/fhir-rest",
		"ce_type":            "fhir.observation.created",
		"ce_time":            "2026-01-02T02:04:05.000000006Z",
		"content-type":       "application/fhir+json",
		"fhir.resource_type": "Observation",
		"fhir.id":            "o1",
		"fhir.action":        "create",
		"fhir.version":       "R4",
		"fhir.version_id":    "ev-1",
		"fhir.full_url":      "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
		"fhir.warnings":      "1:100@Observation.foo",
	}
	got := map[string]string{}
	for _, h := range rec.Headers {
		got[h.Key] = string(h.Value)
	}
	if len(got) != len(want) {
		t.Errorf("headers %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}

	del, err := FHIRRecord(nil, "", "fhir-rest", FHIRMeta{ResourceType: "Patient", ID: "p1", Action: "delete"}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if del.Topic != "fhir.patient.deleted" || len(del.Value) != 0 || string(del.Key) != "Patient/p1" {
		t.Errorf("delete record %q %q %q", del.Topic, del.Key, del.Value)
	}
	for _, h := range del.Headers {
		if h.Key == "fhir.warnings" || h.Key == "fhir.version_id" || h.Key == "fhir.full_url" {
			t.Errorf("no %s header expected without a value", h.Key)
		}
		if h.Key == "ce_id" && string(h.Value) != "Patient/p1" {
			t.Errorf("ce_id fallback = %q", h.Value)
		}
	}
	if _, err := FHIRRecord(body, "", "x", FHIRMeta{ResourceType: "Observation", Action: "read"}, nil, now); err == nil {
		t.Errorf("an unknown action must not make a record")
	}
}
