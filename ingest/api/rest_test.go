package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/internal/topicread"
)

func doHTTP(t *testing.T, base, method, path, contentType string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// oo is the part of an OperationOutcome the tests look at.
type oo struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Severity    string   `json:"severity"`
		Code        string   `json:"code"`
		Diagnostics string   `json:"diagnostics"`
		Expression  []string `json:"expression"`
	} `json:"issue"`
}

func parseOO(t *testing.T, b []byte) oo {
	t.Helper()
	var o oo
	if err := json.Unmarshal(b, &o); err != nil || o.ResourceType != "OperationOutcome" || len(o.Issue) == 0 {
		t.Fatalf("not an OperationOutcome with issues (%v): %.300s", err, b)
	}
	return o
}

func (o oo) hasExpression(e string) bool {
	for _, is := range o.Issue {
		for _, x := range is.Expression {
			if x == e {
				return true
			}
		}
	}
	return false
}

// withoutID removes the top-level id of a JSON resource.
func withoutID(t *testing.T, raw []byte) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "id")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRESTCreateUpdateDeleteAnswerLikeAFHIRServer(t *testing.T) {
	e := newEnv(t, envOptions{})
	patient := readCorpus(t, "r4ex-Patient-example.json")
	noID := withoutID(t, patient)

	// wantVersion is the version the answer must name in Location,
	// Content-Location ([base]/Patient/{id}/_history/{vid}) and ETag
	// (W/"{vid}"): "event" for the record's ce_id (creates and updates
	// alike), or "" for none of those headers.
	tests := []struct {
		name        string
		method      string
		path        string
		body        []byte
		prefer      string
		wantStatus  int
		wantTopic   string
		wantVersion string
		wantBody    string // "stored", "withid", "empty", "outcome"
		contentType string
	}{
		{name: "create with an id answers 201 with the resource as stored", method: "POST", path: "/fhir/Patient", body: patient,
			wantStatus: 201, wantTopic: "fhir.patient.created", wantVersion: "event", wantBody: "stored"},
		{name: "create without an id gets one assigned, in the answer and the record", method: "POST", path: "/fhir/Patient", body: noID, prefer: "return=representation",
			wantStatus: 201, wantTopic: "fhir.patient.created", wantVersion: "event", wantBody: "withid"},
		{name: "create with return=minimal answers with an empty body", method: "POST", path: "/fhir/Patient", body: patient, prefer: "return=minimal",
			wantStatus: 201, wantTopic: "fhir.patient.created", wantVersion: "event", wantBody: "empty"},
		{name: "create with return=OperationOutcome answers with an informational outcome", method: "POST", path: "/fhir/Patient", body: patient, prefer: "respond-async, return=OperationOutcome",
			wantStatus: 201, wantTopic: "fhir.patient.created", wantVersion: "event", wantBody: "outcome"},
		{name: "plain application/json with a charset is accepted", method: "POST", path: "/fhir/Patient", body: patient, contentType: "application/json; charset=UTF-8",
			wantStatus: 201, wantTopic: "fhir.patient.created", wantVersion: "event", wantBody: "stored"},
		{name: "update answers 200 with the event id as version and publishes an updated event", method: "PUT", path: "/fhir/Patient/example", body: patient,
			wantStatus: 200, wantTopic: "fhir.patient.updated", wantVersion: "event", wantBody: "stored"},
		{name: "update with return=minimal still names the version", method: "PUT", path: "/fhir/Patient/example", body: patient, prefer: "return=minimal",
			wantStatus: 200, wantTopic: "fhir.patient.updated", wantVersion: "event", wantBody: "empty"},
		{name: "delete answers 200 with an outcome and publishes an empty value", method: "DELETE", path: "/fhir/Patient/example",
			wantStatus: 200, wantTopic: "fhir.patient.deleted", wantBody: "outcome"},
		{name: "delete with return=minimal answers 204 without a body", method: "DELETE", path: "/fhir/Patient/example", prefer: "return=minimal",
			wantStatus: 204, wantTopic: "fhir.patient.deleted", wantBody: "empty"},
	}
	counts := map[string]int{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.contentType
			if ct == "" && tc.body != nil {
				ct = "application/fhir+json"
			}
			var hdr []string
			if tc.prefer != "" {
				hdr = []string{"Prefer", tc.prefer}
			}
			resp, body := e.do(t, tc.method, tc.path, ct, tc.body, hdr...)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			id := "example"
			var answered []byte
			switch tc.wantBody {
			case "stored":
				answered = body
			case "withid":
				var m struct{ ID string }
				if err := json.Unmarshal(body, &m); err != nil || !strings.HasPrefix(m.ID, "gen-") {
					t.Errorf("answer has no assigned id (%v): %.200s", err, body)
				}
				id, answered = m.ID, body
			case "empty":
				if len(body) != 0 {
					t.Errorf("body %q, want empty", body)
				}
			case "outcome":
				o := parseOO(t, body)
				if o.Issue[0].Severity != "information" {
					t.Errorf("issue %+v, want information", o.Issue[0])
				}
			}
			counts[tc.wantTopic]++
			recs := topicread.N(t, e.brokers, counts[tc.wantTopic], tc.wantTopic)
			if len(recs) != counts[tc.wantTopic] {
				t.Fatalf("%d records on %s, want %d", len(recs), tc.wantTopic, counts[tc.wantTopic])
			}
			last := recs[len(recs)-1]
			ceID := headerValue(last.Headers, "ce_id")
			if tc.method == "DELETE" {
				if len(last.Value) != 0 {
					t.Errorf("delete record value %q, want empty", last.Value)
				}
			} else {
				checkStored(t, last.Value, tc.body, id, ceID)
				if answered != nil && !bytes.Equal(answered, last.Value) {
					t.Errorf("answer is not the record value:\n%.200s\n%.200s", answered, last.Value)
				}
			}
			if got := headerValue(last.Headers, "fhir.version_id"); got != ceID {
				t.Errorf("fhir.version_id %q, want the event id %q", got, ceID)
			}
			checkVersionHeaders(t, resp.Header, e.httpURL+"/fhir/Patient/"+id, tc.wantVersion, ceID)
		})
	}
}

// checkStored checks that stored is received as a FHIR server stores it:
// every member as received, id set to id, meta.versionId to vid and
// meta.lastUpdated to an instant.
func checkStored(t *testing.T, stored, received []byte, id, vid string) {
	t.Helper()
	var got, want map[string]any
	if err := json.Unmarshal(stored, &got); err != nil {
		t.Fatalf("stored form is not JSON: %v", err)
	}
	if err := json.Unmarshal(received, &want); err != nil {
		t.Fatal(err)
	}
	meta, _ := got["meta"].(map[string]any)
	lu, _ := meta["lastUpdated"].(string)
	if _, err := time.Parse(time.RFC3339Nano, lu); err != nil {
		t.Errorf("meta.lastUpdated %q is not an instant", lu)
	}
	wantMeta, _ := want["meta"].(map[string]any)
	if wantMeta == nil {
		wantMeta = map[string]any{}
	}
	wantMeta["versionId"], wantMeta["lastUpdated"] = vid, lu
	want["meta"], want["id"] = wantMeta, id
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored form differs from the resource received with id %q and version %q:\n%.300s", id, vid, stored)
	}
}

// checkVersionHeaders checks Location, Content-Location and ETag against
// version want ("event" for eventID, or "" for none of them).
func checkVersionHeaders(t *testing.T, h http.Header, resourceURL, want, eventID string) {
	t.Helper()
	vid := want
	if want == "event" {
		if eventID == "" {
			t.Fatal("record has no ce_id")
		}
		vid = eventID
	}
	wantLoc, wantETag := "", ""
	if vid != "" {
		wantLoc, wantETag = resourceURL+"/_history/"+vid, `W/"`+vid+`"`
	}
	for name, w := range map[string]string{"Location": wantLoc, "Content-Location": wantLoc, "ETag": wantETag} {
		if got := h.Get(name); got != w {
			t.Errorf("%s %q, want %q", name, got, w)
		}
	}
}

func TestRESTRefusesWhatAFHIRServerRefuses(t *testing.T) {
	e := newEnv(t, envOptions{maxBody: 8 << 10})
	patient := readCorpus(t, "r4ex-Patient-example.json")
	badDate := bytes.Replace(patient, []byte(`"birthDate": "1974-12-25"`), []byte(`"birthDate": "25.12.1974"`), 1)
	if bytes.Equal(badDate, patient) {
		t.Fatal("test corpus changed: no birthDate to break")
	}
	big := append(append([]byte(`{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">`), bytes.Repeat([]byte("x"), 9<<10)...), []byte(`</div>"}}`)...)

	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		chunked     bool
		wantStatus  int
		wantExpr    string
		wantDLQ     bool
	}{
		{name: "a body that is not FHIR JSON is 415", method: "POST", path: "/fhir/Patient", contentType: "application/xml", body: patient, wantStatus: 415},
		{name: "a body without a content type is 415", method: "POST", path: "/fhir/Patient", body: patient, wantStatus: 415},
		{name: "JSON in another charset is 415", method: "POST", path: "/fhir/Patient", contentType: "application/fhir+json; charset=iso-8859-1", body: patient, wantStatus: 415},
		{name: "a body over the limit is 413", method: "POST", path: "/fhir/Patient", contentType: "application/fhir+json", body: big, wantStatus: 413},
		{name: "a chunked body over the limit is 413", method: "POST", path: "/fhir/Patient", contentType: "application/fhir+json", body: big, chunked: true, wantStatus: 413},
		{name: "a resourceType other than the URL's is 400", method: "POST", path: "/fhir/Observation", contentType: "application/fhir+json", body: patient, wantStatus: 400, wantExpr: "Resource.resourceType", wantDLQ: true},
		{name: "an id outside FHIR's id rule is 400", method: "PUT", path: "/fhir/Patient/bad_id!", contentType: "application/fhir+json", body: patient, wantStatus: 400, wantExpr: "Patient.id", wantDLQ: true},
		{name: "a body id other than the URL id is 400", method: "PUT", path: "/fhir/Patient/other", contentType: "application/fhir+json", body: patient, wantStatus: 400, wantExpr: "Patient.id", wantDLQ: true},
		{name: "malformed JSON is 400", method: "POST", path: "/fhir/Patient", contentType: "application/fhir+json", body: []byte(`{"resourceType":"Patient",`), wantStatus: 400, wantDLQ: true},
		{name: "a resource that fails validation is 422", method: "POST", path: "/fhir/Patient", contentType: "application/fhir+json", body: badDate, wantStatus: 422, wantExpr: "Patient.birthDate", wantDLQ: true},
		{name: "an unknown route is 404", method: "GET", path: "/v2/unknown", wantStatus: 404},
		{name: "an unsupported method is 405", method: "PATCH", path: "/fhir/Patient/example", contentType: "application/fhir+json", body: patient, wantStatus: 405},
	}
	dlq := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rd io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(bytes.NewReader(tc.body)) // hides the length: chunked
			}
			if tc.body == nil {
				rd = nil
			}
			req, err := http.NewRequest(tc.method, e.httpURL+tc.path, rd)
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.wantStatus, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
				t.Errorf("Content-Type %q", ct)
			}
			o := parseOO(t, body)
			if o.Issue[0].Severity != "error" {
				t.Errorf("first issue %+v is not an error", o.Issue[0])
			}
			if tc.wantExpr != "" && !o.hasExpression(tc.wantExpr) {
				t.Errorf("no issue at %s: %s", tc.wantExpr, body)
			}
			if tc.wantDLQ {
				dlq++
				if recs := topicread.N(t, e.brokers, dlq, "fhir.dlq"); len(recs) != dlq {
					t.Errorf("%d dead-letter records, want %d", len(recs), dlq)
				}
			}
		})
	}
	if recs := topicread.For(t, e.brokers, 300*time.Millisecond, "fhir.patient.created", "fhir.observation.created", "fhir.patient.updated"); len(recs) != 0 {
		t.Errorf("%d records published for refused requests", len(recs))
	}
}

// headerValue is the value of the record header key, or "".
func headerValue(hs []kgo.RecordHeader, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
