package api

import (
	"errors"
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hl7gw/gateway/pipeline"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
	"github.com/hl7gw/gateway/validation"
)

// httpStatus is the one place a pipeline.Outcome becomes an HTTP status on
// the REST door. created says whether an accepted message was a FHIR create
// (201) rather than an update, delete or HL7 message (200). Content errors
// are 400 when the bytes could not be parsed (malformed JSON, wrong
// resourceType, bad id, unparseable HL7) and 422 when they parsed but
// failed validation or routing. Anything not stored, overload included, is
// 503: the client retries after Retry-After.
func httpStatus(out pipeline.Outcome, created bool) int {
	switch out.Status {
	case pipeline.Accepted:
		if created {
			return http.StatusCreated
		}
		return http.StatusOK
	case pipeline.Invalid, pipeline.Refused:
		if out.Stage == pipeline.StageParse {
			return http.StatusBadRequest
		}
		return http.StatusUnprocessableEntity
	default:
		return http.StatusServiceUnavailable
	}
}

// grpcCode is the one place a pipeline.Outcome becomes a gRPC status code:
// OK only for a message the broker acknowledged, INVALID_ARGUMENT for
// content errors, RESOURCE_EXHAUSTED when the connector's in-flight limit
// refused it, UNAVAILABLE for anything else not stored.
func grpcCode(out pipeline.Outcome) codes.Code {
	switch out.Status {
	case pipeline.Accepted:
		return codes.OK
	case pipeline.Invalid, pipeline.Refused:
		return codes.InvalidArgument
	default:
		if errors.Is(out.Cause, pipeline.ErrOverloaded) {
			return codes.ResourceExhausted
		}
		return codes.Unavailable
	}
}

// statusMessage is the gRPC status message of a failed outcome. It names
// the stage, the reason and the first error, never message content.
func statusMessage(out pipeline.Outcome) string {
	switch out.Status {
	case pipeline.Invalid:
		return "invalid content at " + stageName(out) + ", written to the dead-letter topic" + firstError(out.Findings)
	case pipeline.Refused:
		return "invalid content at " + stageName(out) + ", refused" + firstError(out.Findings)
	default:
		return "message not stored (" + reasonOf(out) + "), retry later"
	}
}

func stageName(out pipeline.Outcome) string {
	if out.Stage == pipeline.StageNone {
		return "PARSE"
	}
	return string(out.Stage)
}

func reasonOf(out pipeline.Outcome) string {
	if out.Reason == "" {
		return "unavailable"
	}
	return string(out.Reason)
}

func firstError(fs validation.Findings) string {
	if f, ok := fs.FirstError(); ok {
		return ": " + f.String()
	}
	return ""
}

// grpcError turns a failed outcome into a gRPC status error whose details
// carry google.rpc.BadRequest field violations (content errors) or
// google.rpc.RetryInfo (not stored), followed by extra (the method's
// response message, so that clients see the findings and the ACK). It
// returns nil for accepted outcomes.
func grpcError(out pipeline.Outcome, retryAfter time.Duration, extra ...proto.Message) error {
	code := grpcCode(out)
	if code == codes.OK {
		return nil
	}
	return detailedError(code, statusMessage(out), out, retryAfter, extra...)
}

func detailedError(code codes.Code, msg string, out pipeline.Outcome, retryAfter time.Duration, extra ...proto.Message) error {
	st := status.New(code, msg)
	details := make([]protoadapt.MessageV1, 0, 1+len(extra))
	if code == codes.InvalidArgument {
		br := &errdetails.BadRequest{}
		for _, f := range out.Findings {
			if f.Severity != validation.SeverityError {
				continue
			}
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field:       f.Location,
				Description: f.String(),
				Reason:      f.Code.Reason(),
			})
		}
		details = append(details, br)
	} else {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
	}
	for _, m := range extra {
		details = append(details, protoadapt.MessageV1Of(m))
	}
	withDetails, err := st.WithDetails(details...)
	if err != nil {
		return st.Err()
	}
	return withDetails.Err()
}

// protoOutcome converts an Outcome for the API.
func protoOutcome(out pipeline.Outcome) *gatewayv1.Outcome {
	o := &gatewayv1.Outcome{
		Status: protoStatus(out.Status),
		Stage:  string(out.Stage),
		Reason: string(out.Reason),
	}
	if out.Status == pipeline.Accepted {
		o.Stage = ""
	}
	for _, f := range out.Findings {
		o.Findings = append(o.Findings, protoFinding(f))
	}
	for _, d := range out.Deliveries {
		o.Deliveries = append(o.Deliveries, &gatewayv1.Delivery{Topic: d.Topic, Partition: d.Partition, Offset: d.Offset})
	}
	return o
}

func protoStatus(s pipeline.Status) gatewayv1.OutcomeStatus {
	switch s {
	case pipeline.Accepted:
		return gatewayv1.OutcomeStatus_OUTCOME_STATUS_ACCEPTED
	case pipeline.Invalid:
		return gatewayv1.OutcomeStatus_OUTCOME_STATUS_INVALID
	case pipeline.Refused:
		return gatewayv1.OutcomeStatus_OUTCOME_STATUS_REFUSED
	case pipeline.Unavailable:
		return gatewayv1.OutcomeStatus_OUTCOME_STATUS_UNAVAILABLE
	default:
		return gatewayv1.OutcomeStatus_OUTCOME_STATUS_UNSPECIFIED
	}
}

func protoFinding(f validation.Finding) *gatewayv1.Finding {
	sev := gatewayv1.Severity_SEVERITY_WARNING
	if f.Severity == validation.SeverityError {
		sev = gatewayv1.Severity_SEVERITY_ERROR
	}
	return &gatewayv1.Finding{
		Severity:  sev,
		Code:      int32(f.Code),
		Location:  f.Location,
		Message:   f.Message,
		IssueType: f.Code.FHIRIssueType(),
	}
}
