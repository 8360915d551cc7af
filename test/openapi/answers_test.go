package openapi

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAnswersSchemathesisCannotProvokeAreDocumented sends the requests a
// generator does not write (another client's credentials, a body over the
// limit, a paused connector, Prefer, the public routes without a token) to
// a real gateway and checks each answer against the served document:
// status, media type and required headers.
func TestAnswersSchemathesisCannotProvokeAreDocumented(t *testing.T) {
	gw := sharedGateway(t, true)
	resp, raw := send(t, gw, "", http.MethodGet, "/openapi.json", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json without a token: %d, want 200", resp.StatusCode)
	}
	doc, err := parseDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	fj := map[string]string{"Content-Type": "application/fhir+json"}
	hl7 := map[string]string{"Content-Type": "application/hl7-v2"}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}
	patient := []byte(`{"resourceType":"Patient","birthDate":"1970-01-01"}`)
	badDate := []byte(`{"resourceType":"Patient","birthDate":"01.01.1970"}`)
	named := []byte(`{"resourceType":"Patient","id":"p1","birthDate":"1970-01-01"}`)
	msg := []byte("MSH|^~\\&|LAB|HOSP|GW|HOSP|20240101120000||ADT^A01^ADT_A01|MSG1|P|2.5\rEVN|A01|20240101120000\rPID|1||1^^^HOSP^MR||DOE^JOHN\rPV1|1|I\r")
	big := bytes.Repeat([]byte("x"), maxBodyBytes+1)

	tests := []struct {
		name         string
		key          string
		method, path string
		header       map[string]string
		body         []byte
		want         int
	}{
		{"the OpenAPI document needs no token", "", "GET", "/openapi.json", nil, nil, 200},
		{"the CapabilityStatement needs no token", "", "GET", "/fhir/metadata", nil, nil, 200},
		{"a create without a token is 401", "", "POST", "/fhir/Patient", fj, patient, 401},
		{"an HL7 message without a token is 401", "", "POST", "/v1/hl7", hl7, msg, 401},
		{"a create with a token lacking fhir:write is 403", gw.hl7Only, "POST", "/fhir/Patient", fj, patient, 403},
		{"a valid create is 201", gw.writer, "POST", "/fhir/Patient", fj, patient, 201},
		{"a create preferring minimal is 201 without a body", gw.writer, "POST", "/fhir/Patient", with(fj, "Prefer", "return=minimal"), patient, 201},
		{"a create preferring an OperationOutcome is 201", gw.writer, "POST", "/fhir/Patient", with(fj, "Prefer", "return=OperationOutcome"), patient, 201},
		{"an update is 200", gw.writer, "PUT", "/fhir/Patient/p1", fj, named, 200},
		{"a delete is 200", gw.writer, "DELETE", "/fhir/Patient/p1", nil, nil, 200},
		{"a delete preferring minimal is 204", gw.writer, "DELETE", "/fhir/Patient/p1", map[string]string{"Prefer": "return=minimal"}, nil, 204},
		{"an invalid birthDate is 422", gw.writer, "POST", "/fhir/Patient", fj, badDate, 422},
		{"a FHIR body over the limit is 413", gw.writer, "POST", "/fhir/Patient", fj, big, 413},
		{"an HL7 body over the limit is 413", gw.writer, "POST", "/v1/hl7", hl7, big, 413},
		{"a FHIR body as XML is 415", gw.writer, "POST", "/fhir/Patient", map[string]string{"Content-Type": "application/fhir+xml"}, patient, 415},
		{"an HL7 body as JSON is 415", gw.writer, "POST", "/v1/hl7", map[string]string{"Content-Type": "application/json"}, msg, 415},
		{"an XML-only Accept is 406", gw.writer, "POST", "/fhir/Patient", with(fj, "Accept", "application/fhir+xml"), patient, 406},
		{"a conditional create is 412", gw.writer, "POST", "/fhir/Patient", with(fj, "If-None-Exist", "identifier=x|1"), patient, 412},
		{"a versioned update is 412", gw.writer, "PUT", "/fhir/Patient/p1", with(fj, "If-Match", `W/"1"`), named, 412},
		{"a read is 405", gw.writer, "GET", "/fhir/Patient/p1", nil, nil, 405},
		{"a search is 405", gw.writer, "GET", "/fhir/Patient", nil, nil, 405},
		{"a valid HL7 message is 200 with its ACK", gw.writer, "POST", "/v1/hl7", hl7, msg, 200},
		{"garbage on the HL7 route is 400", gw.writer, "POST", "/v1/hl7", hl7, []byte("not HL7"), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := send(t, gw, tc.key, tc.method, tc.path, tc.header, tc.body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.want, body)
			}
			if err := doc.check(tc.method, tc.path, resp, body); err != nil {
				t.Fatal(err)
			}
		})
	}

	// A paused connector stores nothing: 503 with Retry-After on both routes.
	if resp, body := send(t, gw, gw.writer, "PUT", "/connectors/fhir-rest/pause", nil, nil); resp.StatusCode >= 300 {
		t.Fatalf("pause the connector: %d %s", resp.StatusCode, body)
	}
	paused := []struct {
		name         string
		method, path string
		header       map[string]string
		body         []byte
	}{
		{"a create while paused is 503", "POST", "/fhir/Patient", fj, patient},
		{"a transaction while paused is 503", "POST", "/fhir", fj, []byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`)},
		{"an HL7 message while paused is 503 with an AR", "POST", "/v1/hl7", hl7, msg},
	}
	for _, tc := range paused {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := send(t, gw, gw.writer, tc.method, tc.path, tc.header, tc.body)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503: %.300s", resp.StatusCode, body)
			}
			if err := doc.check(tc.method, tc.path, resp, body); err != nil {
				t.Fatal(err)
			}
		})
	}
	if resp, body := send(t, gw, gw.writer, "PUT", "/connectors/fhir-rest/resume", nil, nil); resp.StatusCode >= 300 {
		t.Fatalf("resume the connector: %d %s", resp.StatusCode, body)
	}
}

// send makes one request with key as a bearer token ("" for none).
func send(t *testing.T, gw *gateway, key, method, path string, header map[string]string, body []byte) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+gw.HTTPAddr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return resp, b
}
