package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/topicread"
)

type responseBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		Response struct {
			Status   string          `json:"status"`
			Location string          `json:"location"`
			Etag     string          `json:"etag"`
			Outcome  json.RawMessage `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}

func TestRESTTransactionIsPublishedAllOrNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	tx := readCorpus(t, "r4ex-Bundle-hla-1.json")
	var in struct {
		Entry []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(tx, &in); err != nil {
		t.Fatal(err)
	}

	resp, body := e.do(t, "POST", "/fhir", "application/fhir+json", tx)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %.400s", resp.StatusCode, body)
	}
	var b responseBundle
	if err := json.Unmarshal(body, &b); err != nil || b.Type != "transaction-response" {
		t.Fatalf("not a transaction-response Bundle (%v): %.300s", err, body)
	}
	if len(b.Entry) != len(in.Entry) {
		t.Fatalf("%d response entries for %d request entries", len(b.Entry), len(in.Entry))
	}
	for i, en := range b.Entry {
		_, vid, _ := strings.Cut(en.Response.Location, "/_history/")
		if en.Response.Status != "201 Created" || vid == "" || en.Response.Etag != `W/"`+vid+`"` {
			t.Errorf("entry %d: %+v", i, en.Response)
		}
	}
	recs := topicread.N(t, e.brokers, len(in.Entry), "fhir.diagnosticreport.created", "fhir.molecularsequence.created", "fhir.observation.created")
	if len(recs) != len(in.Entry) {
		t.Fatalf("read_committed consumer sees %d records, want %d", len(recs), len(in.Entry))
	}

	// A transaction whose entries include an invalid one publishes nothing.
	broken := bytes.Replace(tx, []byte(`"resourceType": "MolecularSequence"`), []byte(`"resourceType": "MolecularSequenceX"`), 1)
	if bytes.Equal(broken, tx) {
		t.Fatal("test corpus changed: no MolecularSequence to break")
	}
	resp, body = e.do(t, "POST", "/fhir", "application/fhir+json", broken)
	if resp.StatusCode != 400 && resp.StatusCode != 422 {
		t.Fatalf("broken transaction: status %d: %.300s", resp.StatusCode, body)
	}
	parseOO(t, body)
	if recs := topicread.For(t, e.brokers, 300*time.Millisecond, "fhir.diagnosticreport.created", "fhir.molecularsequence.created", "fhir.observation.created"); len(recs) != len(in.Entry) {
		t.Errorf("after a refused transaction the consumer sees %d records, want still %d", len(recs), len(in.Entry))
	}
}

func TestRESTBatchAnswersEachEntryOnItsOwn(t *testing.T) {
	e := newEnv(t, envOptions{})
	patient := readCorpus(t, "r4ex-Patient-example.json")
	obs := readCorpus(t, "r4ex-Observation-10minute-apgar-score.json")
	enc := readCorpus(t, "r4ex-Encounter-example.json")
	badDate := bytes.Replace(patient, []byte(`"birthDate": "1974-12-25"`), []byte(`"birthDate": "25.12.1974"`), 1)
	batch := []byte(`{"resourceType":"Bundle","type":"batch","entry":[` +
		`{"resource":` + string(patient) + `,"request":{"method":"POST","url":"Patient"}},` +
		`{"resource":` + string(withoutID(t, obs)) + `,"request":{"method":"POST","url":"Observation"}},` +
		`{"resource":` + string(enc) + `,"request":{"method":"PUT","url":"Encounter/example"}},` +
		`{"resource":` + string(badDate) + `,"request":{"method":"PUT","url":"Patient/example"}},` +
		`{"request":{"method":"DELETE","url":"Patient/example"}}]}`)

	resp, body := e.do(t, "POST", "/fhir", "application/fhir+json", batch)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %.400s", resp.StatusCode, body)
	}
	var b responseBundle
	if err := json.Unmarshal(body, &b); err != nil || b.Type != "batch-response" {
		t.Fatalf("not a batch-response Bundle (%v): %.300s", err, body)
	}
	want := []string{"201 Created", "201 Created", "200 OK", "422 Unprocessable Entity", "200 OK"}
	if len(b.Entry) != len(want) {
		t.Fatalf("%d response entries, want %d: %s", len(b.Entry), len(want), body)
	}
	for i, w := range want {
		got := b.Entry[i].Response
		if got.Status != w {
			t.Errorf("entry %d: status %q, want %q", i, got.Status, w)
		}
		if strings.HasPrefix(w, "4") {
			parseOO(t, got.Outcome)
		}
	}
	if loc := b.Entry[1].Response.Location; !strings.HasPrefix(loc, "Observation/gen-") {
		t.Errorf("created Observation location %q does not carry the assigned id", loc)
	}
	topics := []string{"fhir.patient.created", "fhir.observation.created", "fhir.encounter.updated", "fhir.patient.deleted"}
	recs := topicread.N(t, e.brokers, 4, topics...)
	if len(recs) != 4 {
		t.Errorf("%d records, want 4", len(recs))
	}
	// Creates and updates alike: the version is the record's ce_id.
	for _, r := range recs {
		entry, what := 0, "Patient/example"
		switch r.Topic {
		case "fhir.encounter.updated":
			entry, what = 2, "Encounter/example"
		case "fhir.patient.created":
		default:
			continue
		}
		vid := headerValue(r.Headers, "ce_id")
		if got := b.Entry[entry].Response; vid == "" || got.Location != what+"/_history/"+vid || got.Etag != `W/"`+vid+`"` {
			t.Errorf("entry %d answered location %q etag %q, want the version of its record's ce_id %q", entry, got.Location, got.Etag, vid)
		}
	}
	if got := b.Entry[4].Response; got.Location != "" || got.Etag != "" {
		t.Errorf("delete entry answered location %q etag %q, want neither", got.Location, got.Etag)
	}
	if recs := topicread.N(t, e.brokers, 1, "fhir.dlq"); len(recs) != 1 {
		t.Errorf("%d dead-letter records, want 1", len(recs))
	}
}

func TestRESTAnswers503WhenTheBrokerIsDown(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.cluster.Close()
	patient := readCorpus(t, "r4ex-Patient-example.json")
	tests := []struct {
		name string
		path string
		body []byte
	}{
		{name: "a create", path: "/fhir/Patient", body: patient},
		{name: "a transaction", path: "/fhir", body: readCorpus(t, "r4ex-Bundle-hla-1.json")},
		{name: "a batch none of whose entries can be stored", path: "/fhir", body: []byte(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + string(patient) + `,"request":{"method":"POST","url":"Patient"}}]}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, "POST", tc.path, "application/fhir+json", tc.body)
			if resp.StatusCode != 503 {
				t.Fatalf("status %d, want 503: %.300s", resp.StatusCode, body)
			}
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
			if o := parseOO(t, body); o.Issue[0].Code != "transient" {
				t.Errorf("issue code %q, want transient", o.Issue[0].Code)
			}
		})
	}
}

func TestRESTHL7AnswersWithTheACK(t *testing.T) {
	e := newEnv(t, envOptions{})
	msg := readCorpus(t, "fhirconv-ADT-A01-02.hl7")
	tests := []struct {
		name, contentType string
		body              []byte
		wantStatus        int
		wantCode          string
	}{
		{name: "a valid message is 200 with AA", contentType: "application/hl7-v2", body: msg, wantStatus: 200, wantCode: "AA"},
		{name: "no content type is fine for HL7", body: msg, wantStatus: 200, wantCode: "AA"},
		{name: "a message without MSH-9 is 400 with AE", contentType: "application/hl7-v2", body: []byte("MSH|^~\\&|A|B|C|D|20240101||||P|2.5\r"), wantStatus: 400, wantCode: "AE"},
		{name: "FHIR JSON is 415", contentType: "application/fhir+json", body: msg, wantStatus: 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, "POST", "/v1/hl7", tc.contentType, tc.body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %q", resp.StatusCode, tc.wantStatus, body)
			}
			if tc.wantCode == "" {
				return
			}
			if info, err := hl7.ParseACK(body); err != nil || info.Code != tc.wantCode {
				t.Errorf("ACK code %q (%v), want %q: %q", info.Code, err, tc.wantCode, body)
			}
			if got := resp.Header.Get("X-HL7-Ack-Code"); got != tc.wantCode {
				t.Errorf("X-HL7-Ack-Code %q", got)
			}
		})
	}
	if recs := topicread.N(t, e.brokers, 2, "hl7.adt.a01"); len(recs) != 2 || !bytes.Equal(recs[0].Value, msg) {
		t.Errorf("%d records on hl7.adt.a01, want 2 with the message as sent", len(recs))
	}
}

func TestRESTBatchThatCannotBeSplitIsRefusedWholeWithTheEntryLocation(t *testing.T) {
	e := newEnv(t, envOptions{})
	patient := `{"resourceType":"Patient","id":"p1"}`
	tests := []struct {
		name, bundle, location string
	}{
		{"an entry without a request method", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + patient + `,"request":{"url":"Patient"}}]}`,
			"Bundle.entry[0].request.method"},
		{"a PATCH entry", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + patient + `,"request":{"method":"POST","url":"Patient"}},` +
			`{"resource":` + patient + `,"request":{"method":"PATCH","url":"Patient/p1"}}]}`, "Bundle.entry[1].request.method"},
		{"an update without an id", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient/p1"}}]}`,
			"Bundle.entry[0].resource.id"},
		{"no entries", `{"resourceType":"Bundle","type":"batch","entry":[]}`, "Bundle.entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, "POST", "/fhir", "application/fhir+json", []byte(tt.bundle))
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400: %.300s", resp.StatusCode, body)
			}
			if o := parseOO(t, body); !o.hasExpression(tt.location) {
				t.Errorf("OperationOutcome does not point at %s: %s", tt.location, body)
			}
		})
	}
	if recs := topicread.For(t, e.brokers, 500*time.Millisecond, "fhir.patient.created", "fhir.patient.updated", "fhir.dlq"); len(recs) != 0 {
		t.Errorf("%d records written for refused batches, want none (there is no entry to dead-letter)", len(recs))
	}
}
