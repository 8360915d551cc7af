package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/topicread"
	"github.com/hl7gw/gateway/pipeline"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
	"github.com/hl7gw/gateway/validation"
)

func TestGRPCSubmitFHIRAnswersWithTheOutcome(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	patient := readCorpus(t, "r4ex-Patient-example.json")

	resp, err := e.grpc.SubmitFHIR(ctx, &gatewayv1.SubmitFHIRRequest{ResourceType: "Patient", Resource: withoutID(t, patient)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetOutcome().GetStatus() != gatewayv1.OutcomeStatus_OUTCOME_STATUS_ACCEPTED || resp.GetId() == "" ||
		len(resp.GetOutcome().GetDeliveries()) != 1 || resp.GetOutcome().GetDeliveries()[0].GetTopic() != "fhir.patient.created" {
		t.Fatalf("unexpected answer %v", resp)
	}

	_, err = e.grpc.SubmitFHIR(ctx, &gatewayv1.SubmitFHIRRequest{ResourceType: "Observation", Resource: patient})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("mismatched resourceType: %v, want INVALID_ARGUMENT", err)
	}
	var br *errdetails.BadRequest
	var inDetails *gatewayv1.SubmitFHIRResponse
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			br = d
		case *gatewayv1.SubmitFHIRResponse:
			inDetails = d
		}
	}
	if br == nil || len(br.GetFieldViolations()) == 0 || br.GetFieldViolations()[0].GetField() != "Resource.resourceType" {
		t.Errorf("BadRequest detail %v", br)
	}
	if inDetails.GetOutcome().GetStatus() != gatewayv1.OutcomeStatus_OUTCOME_STATUS_INVALID || len(inDetails.GetOutcome().GetDeliveries()) != 1 {
		t.Errorf("response detail %v, want invalid with the dead-letter delivery", inDetails)
	}

	batch := []byte(`{"resourceType":"Bundle","type":"batch","entry":[{"resource":` + string(patient) +
		`,"request":{"method":"PUT","url":"Patient/example"}},{"request":{"method":"DELETE","url":"Patient/example"}}]}`)
	resp, err = e.grpc.SubmitFHIR(ctx, &gatewayv1.SubmitFHIRRequest{Resource: batch})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetEntries()) != 2 || resp.GetEntries()[1].GetAction() != gatewayv1.FHIRAction_FHIR_ACTION_DELETE ||
		resp.GetEntries()[1].GetOutcome().GetDeliveries()[0].GetTopic() != "fhir.patient.deleted" {
		t.Errorf("batch answer %v", resp)
	}

	_, err = e.grpc.SubmitFHIR(ctx, &gatewayv1.SubmitFHIRRequest{Action: gatewayv1.FHIRAction_FHIR_ACTION_UPDATE, ResourceType: "Patient", Resource: patient})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("update without an id: %v", err)
	}
}

func TestGRPCSubmitHL7AndStreamHL7AnswerWithTheACK(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	msg := readCorpus(t, "fhirconv-ADT-A01-02.hl7")
	bad := []byte("MSH|^~\\&|A|B|C|D|20240101||||P|2.5\r")

	resp, err := e.grpc.SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := hl7.ParseACK(resp.GetAck()); err != nil || resp.GetAckCode() != "AA" || info.Code != "AA" || resp.GetOutcome().GetDeliveries()[0].GetTopic() != "hl7.adt.a01" {
		t.Errorf("unexpected answer %v", resp)
	}

	_, err = e.grpc.SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: bad})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("bad message: %v", err)
	}
	found := false
	for _, d := range st.Details() {
		if r, ok := d.(*gatewayv1.SubmitHL7Response); ok {
			found = r.GetAckCode() == "AE" && len(r.GetAck()) > 0
		}
	}
	if !found {
		t.Errorf("error details carry no AE acknowledgement: %v", st.Details())
	}

	stream, err := e.grpc.StreamHL7(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := [][]byte{msg, bad, msg, msg}
	for _, m := range sent {
		if err := stream.Send(&gatewayv1.StreamHL7Request{Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	want := []string{"AA", "AE", "AA", "AA"}
	for i := 0; ; i++ {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if i != len(want) {
				t.Errorf("%d answers, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.GetSequence() != uint64(i) || r.GetAckCode() != want[i] {
			t.Errorf("answer %d: sequence %d code %q, want %d %q", i, r.GetSequence(), r.GetAckCode(), i, want[i])
		}
	}
	if recs := topicread.N(t, e.brokers, 4, "hl7.adt.a01"); len(recs) != 4 {
		t.Errorf("%d records on hl7.adt.a01, want 4", len(recs))
	}
}

func TestGRPCAnswersUnavailableWhenTheBrokerIsDown(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := e.grpc.SubmitFHIR(ctx, &gatewayv1.SubmitFHIRRequest{ResourceType: "Patient", Resource: readCorpus(t, "r4ex-Patient-example.json")})
	st := status.Convert(err)
	if st.Code() != codes.Unavailable {
		t.Fatalf("got %v, want UNAVAILABLE", err)
	}
	retry := false
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() > 0 {
			retry = true
		}
	}
	if !retry {
		t.Errorf("no RetryInfo in %v", st.Details())
	}
	_, err = e.grpc.SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: readCorpus(t, "fhirconv-ADT-A01-02.hl7")})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("SubmitHL7: %v, want UNAVAILABLE", err)
	}
}

func TestGRPCHealthFollowsReadiness(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	hc := healthpb.NewHealthClient(e.conn)
	check := func(service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		return r.GetStatus(), err
	}
	if s, err := check(""); err != nil || s != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("ready: %v %v", s, err)
	}
	e.ready.Store(false)
	if s, err := check("gateway.v1.GatewayService"); err != nil || s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("not ready: %v %v", s, err)
	}
	if _, err := check("no.such.Service"); status.Code(err) != codes.NotFound {
		t.Errorf("unknown service: %v", err)
	}
}

func TestTranslationOfOutcomesIsOneTableForEachDoor(t *testing.T) {
	content := validation.Findings{{Severity: validation.SeverityError, Code: validation.CodeDataType, Location: "Patient.birthDate"}}
	tests := []struct {
		name     string
		out      pipeline.Outcome
		created  bool
		wantHTTP int
		wantGRPC codes.Code
	}{
		{"an accepted create is 201 and OK", pipeline.Outcome{Status: pipeline.Accepted}, true, http.StatusCreated, codes.OK},
		{"an accepted update is 200 and OK", pipeline.Outcome{Status: pipeline.Accepted}, false, http.StatusOK, codes.OK},
		{"a parse error is 400 and INVALID_ARGUMENT", pipeline.Outcome{Status: pipeline.Invalid, Stage: pipeline.StageParse, Findings: content}, true, 400, codes.InvalidArgument},
		{"a validation error is 422 and INVALID_ARGUMENT", pipeline.Outcome{Status: pipeline.Invalid, Stage: pipeline.StageValidate, Findings: content}, true, 422, codes.InvalidArgument},
		{"a refused routing error is 422 and INVALID_ARGUMENT", pipeline.Outcome{Status: pipeline.Refused, Stage: pipeline.StageRoute, Findings: content}, false, 422, codes.InvalidArgument},
		{"a broker outage is 503 and UNAVAILABLE", pipeline.Outcome{Status: pipeline.Unavailable, Reason: "broker_unavailable"}, true, 503, codes.Unavailable},
		{"an overload is 503 and RESOURCE_EXHAUSTED", pipeline.Outcome{Status: pipeline.Unavailable, Cause: pipeline.ErrOverloaded, Reason: "overloaded"}, true, 503, codes.ResourceExhausted},
		{"an overload wrapped by a batch is 503 and RESOURCE_EXHAUSTED", pipeline.Outcome{Status: pipeline.Unavailable, Cause: fmt.Errorf("message 2 of 3: %w", pipeline.ErrOverloaded), Reason: "overloaded"}, true, 503, codes.ResourceExhausted},
		{"a paused connector is 503 and UNAVAILABLE", pipeline.Outcome{Status: pipeline.Unavailable, Cause: pipeline.ErrPaused, Reason: "paused"}, false, 503, codes.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := httpStatus(tc.out, tc.created); got != tc.wantHTTP {
				t.Errorf("httpStatus = %d, want %d", got, tc.wantHTTP)
			}
			if got := grpcCode(tc.out); got != tc.wantGRPC {
				t.Errorf("grpcCode = %v, want %v", got, tc.wantGRPC)
			}
			err := grpcError(tc.out, time.Second)
			if (err == nil) != (tc.wantGRPC == codes.OK) || status.Code(err) != tc.wantGRPC {
				t.Errorf("grpcError = %v", err)
			}
		})
	}
}

func TestWithIDAddsTheAssignedIDOnly(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"an object with members gets the id first", `{"resourceType":"Patient"}`, `{"id":"a1","resourceType":"Patient"}`},
		{"an empty object gets only the id", `{ }`, `{"id":"a1"}`},
		{"leading space is kept", ` {"resourceType":"Patient"}`, ` {"id":"a1","resourceType":"Patient"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := withID([]byte(tc.in), "a1")
			if !bytes.Equal(bytes.ReplaceAll(got, []byte(" }"), []byte("}")), []byte(tc.want)) {
				t.Errorf("withID(%s) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}
