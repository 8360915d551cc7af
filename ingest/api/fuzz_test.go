package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/hl7/conformance"
	"github.com/hl7gw/gateway/ingest/fhirdoor"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/pipeline"
)

// FuzzPreferReturn: any header gives "" or one of the three return
// preferences.
func FuzzPreferReturn(f *testing.F) {
	f.Add("return=minimal")
	f.Add(`respond-async, return="OperationOutcome"; x=1`)
	f.Fuzz(func(t *testing.T, h string) {
		switch got := preferReturn([]string{h}); got {
		case "", "minimal", "representation", "OperationOutcome":
		default:
			t.Fatalf("preferReturn(%q) = %q", h, got)
		}
	})
}

// FuzzWithID: for a JSON object without an id, the answer is still a JSON
// object and now has the id; the input is never modified.
func FuzzWithID(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","active":true}`), "gen-1")
	f.Add([]byte(` {}`), "a.b-c")
	f.Fuzz(func(t *testing.T, raw []byte, id string) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			return
		}
		if _, has := obj["id"]; has {
			return
		}
		orig := bytes.Clone(raw)
		out := withID(raw, id)
		if !bytes.Equal(raw, orig) {
			t.Fatal("withID modified its input")
		}
		var got struct {
			ID *string `json:"id"`
		}
		if err := json.Unmarshal(out, &got); err != nil || got.ID == nil {
			t.Fatalf("withID(%q, %q) = %q: %v", raw, id, out, err)
		}
		if !utf8.ValidString(id) || *got.ID == id { // invalid UTF-8 becomes U+FFFD
			return
		}
		t.Fatalf("id %q came back as %q", id, *got.ID)
	})
}

// acceptAll stores nothing and fails nothing: FuzzRESTDoor measures the
// door's own answers, not the broker's.
type acceptAll struct{}

func (acceptAll) Publish(_ context.Context, recs []*kgo.Record, _ bool) ([]pipeline.Delivery, error) {
	return deliveries(recs), nil
}

// restAnswers are the statuses the OpenAPI document lists for FHIR
// create, update and transaction, bar 401/403 (no authentication here),
// 408 (no read timeout) and 500 (a bug, which this target looks for);
// and 404 for a path no binding serves (an id holding an encoded "/").
var restAnswers = map[int]bool{200: true, 201: true, 400: true, 404: true, 405: true, 406: true, 412: true, 413: true, 415: true, 422: true, 503: true}

// FuzzRESTDoor posts any body through the whole REST door (grpc-gateway
// mux, FHIR pipeline with strict validation, answer shaping) as a client
// would: to /fhir for a Bundle, else to /fhir/<its resourceType>, and,
// when it names an id, as an update to /fhir/<type>/<id>. Every answer is
// one the OpenAPI document lists, a FHIR JSON object (an
// OperationOutcome, a Bundle or the resource), and a 201 has a Location.
func FuzzRESTDoor(f *testing.F) {
	corpus.AddSeeds(f, corpus.FHIR)
	var ids atomic.Int64
	fhirPipe := pipeline.New(pipeline.Config{
		Connector: "fhir-rest", ValidationEnabled: true, DLQTopic: "fhir.dlq", ContentType: "application/fhir+json",
	}, fhirdoor.NewSteps(fhirdoor.StepsConfig{
		Connector: "fhir-rest", ValidationEnabled: true, Strict: true,
		NewID: func() string { return fmt.Sprintf("gen-%d", ids.Add(1)) },
	}), acceptAll{}, nil)
	svc := NewService(nil, fhirPipe, ServiceOptions{MaxBodyBytes: 1 << 20, RetryAfter: time.Second})
	h, err := NewHTTPHandler(context.Background(), svc, HTTPOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var head struct {
			ResourceType, ID string
		}
		_ = json.Unmarshal(body, &head)
		typ := url.PathEscape(head.ResourceType)
		if typ == "" {
			typ = "Patient"
		}
		paths := map[string]string{http.MethodPost: "/fhir/" + typ}
		if head.ResourceType == "Bundle" {
			paths[http.MethodPost] = "/fhir"
		}
		if head.ID != "" {
			paths[http.MethodPut] = "/fhir/" + typ + "/" + url.PathEscape(head.ID)
		}
		for method, path := range paths {
			req := httptest.NewRequest(method, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/fhir+json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var got struct{ ResourceType string }
			if !restAnswers[rec.Code] || rec.Header().Get("Content-Type") != contentTypeFHIR ||
				json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.ResourceType == "" {
				t.Fatalf("%s %s: %d %q %q", method, path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
			}
			if rec.Code == http.StatusCreated && rec.Header().Get("Location") == "" {
				t.Fatalf("%s %s: 201 without Location", method, path)
			}
		}
	})
}

// FuzzRESTHL7 posts any payload to POST /v1/hl7 through the whole REST
// door (lenient HL7 door with validation behind the grpc-gateway mux):
// the answer is 200, 400 or 422 (503 is for a broker that fails, and
// acceptAll never does); the body's ACKs parse, and X-HL7-Ack-Code is
// the code the door itself answers, an MSA-1 of one of them (an empty
// body only with an empty code, when MSH-15 asked for no ACK).
func FuzzRESTHL7(f *testing.F) {
	corpus.AddSeeds(f, corpus.HL7)
	v, err := conformance.New(conformance.Options{})
	if err != nil {
		f.Fatal(err)
	}
	door := hl7door.NewDoor(pipeline.New(pipeline.Config{
		Connector: "rest", ValidationEnabled: true, DLQTopic: "hl7.dlq", ContentType: contentTypeHL7,
	}, hl7door.NewSteps(hl7door.StepsConfig{Connector: "rest", Validator: v}), acceptAll{}, nil), nil)
	h, err := NewHTTPHandler(context.Background(), NewService(door, nil, ServiceOptions{MaxBodyBytes: 1 << 20, RetryAfter: time.Second}), HTTPOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/hl7", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentTypeHL7)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		code := rec.Header().Get("X-HL7-Ack-Code")
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("%d %q", rec.Code, rec.Body.Bytes())
		}
		ack := rec.Body.Bytes()
		if len(ack) == 0 {
			if code != "" {
				t.Fatalf("%d with X-HL7-Ack-Code %q and no ACK", rec.Code, code)
			}
			return
		}
		units, b, isBatch := hl7.Units(ack)
		if isBatch && len(b.Messages) == 0 {
			return // a batch none of whose messages asked for an ACK (FuzzDoorAnswer checks it)
		}
		named := false
		for _, u := range units {
			info, err := hl7.ParseACK(u)
			if err != nil {
				t.Fatalf("%d: the ACK does not parse: %v\n%q", rec.Code, err, u)
			}
			named = named || info.Code == code
		}
		if !named || code != door.Answer(context.Background(), body).Code {
			t.Fatalf("%d: X-HL7-Ack-Code %q is not the door's code or not in the ACK %q", rec.Code, code, ack)
		}
	})
}
