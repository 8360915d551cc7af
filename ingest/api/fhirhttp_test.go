package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/fhir/fhirval"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

func TestCapabilityStatementDescribesTheWriteOnlyFacade(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := e.do(t, "GET", "/fhir/metadata", "", nil, "Accept", "application/fhir+json")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/fhir+json") {
		t.Fatalf("status %d, Content-Type %q: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if _, fs := fhirval.Check(body, fhirval.Options{Strict: true}); len(fs) > 0 {
		t.Fatalf("CapabilityStatement fails strict validation: %v", fs)
	}
	var cs struct {
		ResourceType, Kind, FHIRVersion string
		Implementation                  struct{ URL string }
		Format                          []string
		Rest                            []struct {
			Mode, Documentation string
			Interaction         []struct{ Code string }
			Resource            []struct {
				Type                                 string
				Interaction                          []struct{ Code string }
				Versioning                           string
				ConditionalCreate, ConditionalUpdate bool
				ConditionalDelete, ConditionalRead   string
			}
		}
	}
	if err := json.Unmarshal(body, &cs); err != nil {
		t.Fatal(err)
	}
	if cs.ResourceType != "CapabilityStatement" || cs.Kind != "instance" || cs.FHIRVersion != "4.0.1" || cs.Implementation.URL != e.httpURL+"/fhir" {
		t.Errorf("statement %+v", cs)
	}
	if len(cs.Rest) != 1 || !strings.Contains(cs.Rest[0].Documentation, "no read") {
		t.Fatalf("rest %+v does not say it is write-only", cs.Rest)
	}
	if got := interactionCodes(cs.Rest[0].Interaction); got != "transaction,batch" {
		t.Errorf("system interactions %s", got)
	}
	var patient bool
	for _, r := range cs.Rest[0].Resource {
		if got := interactionCodes(r.Interaction); got != "create,update,delete" {
			t.Errorf("%s interactions %s, want create,update,delete only", r.Type, got)
		}
		if r.ConditionalCreate || r.ConditionalUpdate || r.ConditionalDelete != "not-supported" || r.ConditionalRead != "not-supported" || r.Versioning != "versioned" {
			t.Errorf("%s declares %+v", r.Type, r)
		}
		patient = patient || r.Type == "Patient"
	}
	if !patient || len(cs.Rest[0].Resource) < 140 {
		t.Errorf("%d resource types, Patient among them: %v", len(cs.Rest[0].Resource), patient)
	}
	if resp, body := e.do(t, "HEAD", "/fhir/metadata", "", nil); resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD: status %d, %d bytes", resp.StatusCode, len(body))
	}
}

func interactionCodes(is []struct{ Code string }) string {
	var out []string
	for _, i := range is {
		out = append(out, i.Code)
	}
	return strings.Join(out, ",")
}

// TestFHIRRefusalsWriteNothing walks every refusal of the FHIR manners:
// read and search (405 + Allow), formats (406, 415), conditional and
// versioned requests (412, 400). Each is answered with an OperationOutcome
// of the right issue type, and afterwards no topic holds a record, the
// dead-letter topic included.
func TestFHIRRefusalsWriteNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	patient := readCorpus(t, "r4ex-Patient-example.json")
	const fj = "application/fhir+json"
	bundle := func(typ, req string) []byte {
		return []byte(`{"resourceType":"Bundle","type":"` + typ + `","entry":[{"resource":{"resourceType":"Patient","id":"a"},"request":` + req + `}]}`)
	}
	tests := []struct {
		name, method, path, ct string
		body                   []byte
		hdr                    []string
		wantStatus             int
		wantIssue, wantAllow   string
		wantExpr               string
	}{
		{name: "read is 405 and allows PUT and DELETE", method: "GET", path: "/fhir/Patient/example", wantStatus: 405, wantIssue: "not-supported", wantAllow: "PUT, DELETE"},
		{name: "search is 405 and allows POST", method: "GET", path: "/fhir/Patient?name=x", wantStatus: 405, wantIssue: "not-supported", wantAllow: "POST"},
		{name: "search by POST is 405 and allows nothing", method: "POST", path: "/fhir/Patient/_search", ct: "application/x-www-form-urlencoded", body: []byte("name=x"), wantStatus: 405, wantIssue: "not-supported", wantAllow: ""},
		{name: "vread is 405", method: "GET", path: "/fhir/Patient/example/_history/1", wantStatus: 405, wantIssue: "not-supported", wantAllow: ""},
		{name: "history is 405", method: "GET", path: "/fhir/Patient/example/_history", wantStatus: 405, wantIssue: "not-supported", wantAllow: ""},
		{name: "whole-system search is 405 and allows POST", method: "GET", path: "/fhir", wantStatus: 405, wantIssue: "not-supported", wantAllow: "POST"},
		{name: "PATCH is 405", method: "PATCH", path: "/fhir/Patient/example", ct: fj, body: patient, wantStatus: 405, wantIssue: "not-supported", wantAllow: "PUT, DELETE"},
		{name: "POST to metadata is 405", method: "POST", path: "/fhir/metadata", ct: fj, body: patient, wantStatus: 405, wantIssue: "not-supported", wantAllow: "GET, HEAD"},
		{name: "Accept XML only is 406", method: "POST", path: "/fhir/Patient", ct: fj, body: patient, hdr: []string{"Accept", "application/fhir+xml"}, wantStatus: 406, wantIssue: "not-supported"},
		{name: "_format xml overrides Accept and is 406", method: "POST", path: "/fhir/Patient?_format=xml", ct: fj, body: patient, hdr: []string{"Accept", "application/fhir+json"}, wantStatus: 406, wantIssue: "not-supported"},
		{name: "Accept of JSON for FHIR 3.0 is 406", method: "POST", path: "/fhir/Patient", ct: fj, body: patient, hdr: []string{"Accept", "application/fhir+json; fhirVersion=3.0"}, wantStatus: 406, wantIssue: "not-supported"},
		{name: "Accept with JSON at q=0 is 406", method: "PUT", path: "/fhir/Patient/example", ct: fj, body: patient, hdr: []string{"Accept", "application/fhir+json;q=0, application/fhir+xml"}, wantStatus: 406, wantIssue: "not-supported"},
		{name: "metadata in XML is 406", method: "GET", path: "/fhir/metadata?_format=application/fhir%2Bxml", wantStatus: 406, wantIssue: "not-supported"},
		{name: "an XML body is 415", method: "POST", path: "/fhir/Patient", ct: "application/fhir+xml", body: []byte(`<Patient xmlns="http://hl7.org/fhir"/>`), wantStatus: 415, wantIssue: "not-supported"},
		{name: "a JSON body of FHIR 3.0 is 415", method: "POST", path: "/fhir/Patient", ct: "application/fhir+json; fhirVersion=3.0", body: patient, wantStatus: 415, wantIssue: "not-supported"},
		{name: "If-None-Exist (conditional create) is 412", method: "POST", path: "/fhir/Patient", ct: fj, body: patient, hdr: []string{"If-None-Exist", "identifier=urn:oid:1|12345"}, wantStatus: 412, wantIssue: "not-supported"},
		{name: "If-Match (versioned update) is 412", method: "PUT", path: "/fhir/Patient/example", ct: fj, body: patient, hdr: []string{"If-Match", `W/"1"`}, wantStatus: 412, wantIssue: "not-supported"},
		{name: "If-None-Match on an update is 412", method: "PUT", path: "/fhir/Patient/example", ct: fj, body: patient, hdr: []string{"If-None-Match", "*"}, wantStatus: 412, wantIssue: "not-supported"},
		{name: "If-Match on a delete is 412", method: "DELETE", path: "/fhir/Patient/example", hdr: []string{"If-Match", `W/"1"`}, wantStatus: 412, wantIssue: "not-supported"},
		{name: "a conditional update by search is 400", method: "PUT", path: "/fhir/Patient?identifier=x", ct: fj, body: patient, wantStatus: 400, wantIssue: "not-supported"},
		{name: "a conditional delete by search is 400", method: "DELETE", path: "/fhir/Patient?identifier=x", wantStatus: 400, wantIssue: "not-supported"},
		{name: "a transaction with ifNoneExist is 412 at the entry", method: "POST", path: "/fhir", ct: fj, body: bundle("transaction", `{"method":"POST","url":"Patient","ifNoneExist":"identifier=x"}`),
			wantStatus: 412, wantIssue: "not-supported", wantExpr: "Bundle.entry[0].request.ifNoneExist"},
		{name: "a transaction with ifMatch is 412 at the entry", method: "POST", path: "/fhir", ct: fj, body: bundle("transaction", `{"method":"PUT","url":"Patient/a","ifMatch":"W/\"2\""}`),
			wantStatus: 412, wantIssue: "not-supported", wantExpr: "Bundle.entry[0].request.ifMatch"},
		{name: "a transaction with a conditional update url is 400 at the entry", method: "POST", path: "/fhir", ct: fj, body: bundle("transaction", `{"method":"PUT","url":"Patient?identifier=x"}`),
			wantStatus: 400, wantIssue: "not-supported", wantExpr: "Bundle.entry[0].request.url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, tc.method, tc.path, tc.ct, tc.body, tc.hdr...)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.wantStatus, body)
			}
			if tc.wantStatus == 405 {
				if got, ok := resp.Header["Allow"]; !ok || strings.Join(got, ", ") != tc.wantAllow {
					t.Errorf("Allow %q (present %v), want %q", got, ok, tc.wantAllow)
				}
			}
			o := parseOO(t, body)
			if o.Issue[0].Code != tc.wantIssue || o.Issue[0].Severity != "error" || o.Issue[0].Diagnostics == "" {
				t.Errorf("issue %+v, want an error of type %s that says why", o.Issue[0], tc.wantIssue)
			}
			if tc.wantExpr != "" && (len(o.Issue[0].Expression) == 0 || o.Issue[0].Expression[0] != tc.wantExpr) {
				t.Errorf("expression %v, want %s", o.Issue[0].Expression, tc.wantExpr)
			}
		})
	}
	if recs := allRecords(t, e, time.Second); len(recs) != 0 {
		t.Errorf("refused requests wrote %d records, first on %s", len(recs), recs[0].Topic)
	}
}

// TestBatchEntryConditionsAre412WhileOthersAreStored: in a batch each
// entry stands alone, so the conditional entry is answered 412 and not
// written while the plain one is stored.
func TestBatchEntryConditionsAre412WhileOthersAreStored(t *testing.T) {
	e := newEnv(t, envOptions{})
	batch := []byte(`{"resourceType":"Bundle","type":"batch","entry":[
	 {"fullUrl":"urn:uuid:0d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6","resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=x|1"}},
	 {"fullUrl":"urn:uuid:1d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6","resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"PUT","url":"Patient/p2"}}]}`)
	resp, body := e.do(t, "POST", "/fhir", "application/fhir+json", batch)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %.300s", resp.StatusCode, body)
	}
	var b responseBundle
	if err := json.Unmarshal(body, &b); err != nil || len(b.Entry) != 2 {
		t.Fatalf("%v: %.300s", err, body)
	}
	if got := b.Entry[0].Response; got.Status != "412 Precondition Failed" || len(got.Outcome) == 0 || parseOO(t, got.Outcome).Issue[0].Code != "not-supported" {
		t.Errorf("conditional entry answered %+v", got)
	}
	if got := b.Entry[1].Response; got.Status != "200 OK" {
		t.Errorf("plain entry answered %+v", got)
	}
	recs := allRecords(t, e, time.Second)
	if len(recs) != 1 || recs[0].Topic != "fhir.patient.updated" || header(recs[0], "fhir.full_url") != "urn:uuid:1d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6" {
		t.Fatalf("%d records; want only the update, with its fullUrl header", len(recs))
	}
}

// TestNegotiationAcceptsWhatFHIRClientsSend: HAPI's default Accept (XML
// and JSON at equal weight), a browser's */*, and _format=json are served
// JSON.
func TestNegotiationAcceptsWhatFHIRClientsSend(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, accept := range []string{
		"application/fhir+xml;q=1.0, application/fhir+json;q=1.0, application/xml+fhir;q=0.9, application/json+fhir;q=0.9",
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"application/fhir+json; fhirVersion=4.0",
	} {
		if resp, body := e.do(t, "GET", "/fhir/metadata", "", nil, "Accept", accept); resp.StatusCode != 200 {
			t.Errorf("Accept %q: status %d: %.200s", accept, resp.StatusCode, body)
		}
	}
	for _, f := range []string{"json", "application/fhir+json", "application/fhir%2Bjson", "application/json"} {
		if resp, body := e.do(t, "GET", "/fhir/metadata?_format="+f, "", nil, "Accept", "application/fhir+xml"); resp.StatusCode != 200 {
			t.Errorf("_format=%s: status %d: %.200s", f, resp.StatusCode, body)
		}
	}
}

// allRecords reads every committed record of every topic for d.
func allRecords(t *testing.T, e *env, d time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumeRegex(), kgo.ConsumeTopics(".*"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out []*kgo.Record
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// TestGRPCRefusesAConditionalTransactionWithoutWriting: SubmitFHIR gets the
// same refusal as the REST door, INVALID_ARGUMENT with a field violation
// at the entry, and nothing is written.
func TestGRPCRefusesAConditionalTransactionWithoutWriting(t *testing.T) {
	e := newEnv(t, envOptions{})
	tx := []byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a","ifMatch":"W/\"2\""}}]}`)
	_, err := e.grpc.SubmitFHIR(context.Background(), &gatewayv1.SubmitFHIRRequest{Resource: tx})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code %v (%v), want INVALID_ARGUMENT", st.Code(), err)
	}
	var field string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			field = br.GetFieldViolations()[0].GetField()
		}
	}
	if field != "Bundle.entry[0].request.ifMatch" {
		t.Errorf("field violation at %q, want Bundle.entry[0].request.ifMatch", field)
	}
	if recs := allRecords(t, e, time.Second); len(recs) != 0 {
		t.Errorf("refused transaction wrote %d records", len(recs))
	}
}
