// Package api is the gateway's gRPC API and its REST form: one
// gateway.v1.GatewayService, served over gRPC by NewGRPCServer and over
// HTTP by NewHTTPHandler (grpc-gateway, in process, raw bodies through
// google.api.HttpBody), with a FHIR server's manners on the REST side.
//
// The package only translates: bytes in, the pipeline's Outcome out. Each
// door has one function for that, httpStatus for REST and grpcCode for
// gRPC; the pipelines themselves (HL7 and FHIR steps, publisher) are
// passed in through the small submitter interfaces below, so the lead can
// build one Service per connector (fhir-rest, grpc) with its own pipeline.
package api

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hl7gw/gateway/fhir"
	"github.com/hl7gw/gateway/ingest/fhirdoor"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/pipeline"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// HL7Submitter runs one HL7 v2 message or FHS/BHS batch through the HL7
// pipeline and returns the ACK to send (empty when MSH-15 asked for none),
// its MSA-1 code and the outcome: the service reports the code the door
// chose and never reads it out of the ACK. It blocks until the broker
// answered or ctx ended and must be safe for concurrent use. hl7door's Door
// implements it.
type HL7Submitter interface {
	Answer(ctx context.Context, raw []byte) hl7door.Answer
}

// FHIRSubmitter runs one FHIR request through the FHIR pipeline; the
// returned message is nil when parsing failed. It blocks until the broker
// answered or ctx ended and must be safe for concurrent use.
// *pipeline.Pipeline[fhirdoor.Request, *fhirdoor.Message] implements it.
type FHIRSubmitter interface {
	Submit(ctx context.Context, req fhirdoor.Request, raw []byte) (*fhirdoor.Message, pipeline.Outcome)
}

// DefaultMaxBodyBytes is the default bound of a request body or message.
const DefaultMaxBodyBytes = 10 << 20

// ServiceOptions configures a Service.
type ServiceOptions struct {
	// MaxBodyBytes bounds REST bodies (413 past it) and gRPC messages
	// (NewGRPCServer sets the receive limit from it). Zero means 10 MiB.
	MaxBodyBytes int64
	// BaseURL is the FHIR base used in Location headers, e.g.
	// "https://gw.example.org/fhir". Empty: derived from each HTTP request
	// (scheme, Host, "/fhir"); over gRPC, Location is then relative.
	BaseURL string
	// RetryAfter is what 503 answers (Retry-After) and UNAVAILABLE
	// errors (google.rpc.RetryInfo) tell clients to wait. Zero means 5s.
	RetryAfter time.Duration
	// Logger receives one line per failed request (control ids, types,
	// stages, reasons; never content). Nil discards.
	Logger *slog.Logger
	// StreamIdleTimeout ends a StreamHL7 whose client sends nothing for
	// this long. Zero means DefaultStreamIdleTimeout.
	StreamIdleTimeout time.Duration
}

// Service implements gatewayv1.GatewayServiceServer over an HL7 and a FHIR
// submitter. It is safe for concurrent use; it holds no per-request state.
type Service struct {
	gatewayv1.UnimplementedGatewayServiceServer

	hl7  HL7Submitter
	fhir FHIRSubmitter
	opts ServiceOptions
	log  *slog.Logger
}

var _ gatewayv1.GatewayServiceServer = (*Service)(nil)

// NewService returns a Service. Either submitter may be nil, in which case
// its methods answer UNIMPLEMENTED (501 on REST): a connector may serve
// only HL7 or only FHIR.
func NewService(hl7 HL7Submitter, fhir FHIRSubmitter, opts ServiceOptions) *Service {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Second
	}
	if opts.StreamIdleTimeout <= 0 {
		opts.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{hl7: hl7, fhir: fhir, opts: opts, log: log}
}

// MaxBodyBytes is the bound of request bodies and messages.
func (s *Service) MaxBodyBytes() int64 { return s.opts.MaxBodyBytes }

var (
	errNoHL7  = status.Error(codes.Unimplemented, "HL7 v2 is not served by this connector")
	errNoFHIR = status.Error(codes.Unimplemented, "FHIR is not served by this connector")
)

// SubmitHL7 runs one HL7 message through the HL7 pipeline. It answers OK
// with the ACK only when the broker has the message; otherwise the status
// (INVALID_ARGUMENT, UNAVAILABLE, RESOURCE_EXHAUSTED) carries the
// SubmitHL7Response, with the ACK, in its details.
func (s *Service) SubmitHL7(ctx context.Context, req *gatewayv1.SubmitHL7Request) (*gatewayv1.SubmitHL7Response, error) {
	if s.hl7 == nil {
		return nil, errNoHL7
	}
	if int64(len(req.GetMessage())) > s.opts.MaxBodyBytes {
		return nil, status.Errorf(codes.ResourceExhausted, "message of %d bytes exceeds the limit of %d", len(req.GetMessage()), s.opts.MaxBodyBytes)
	}
	a := s.hl7.Answer(ctx, req.GetMessage())
	resp := &gatewayv1.SubmitHL7Response{Ack: a.ACK, AckCode: a.Code, Outcome: protoOutcome(a.Outcome)}
	s.logOutcome("SubmitHL7", "", a.Outcome)
	if err := grpcError(a.Outcome, s.opts.RetryAfter, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// SubmitFHIR runs one FHIR resource, or a transaction or batch Bundle (empty
// resource_type), through the FHIR pipeline. OK means stored (for a batch:
// every entry answered, see each entry's outcome; a batch none of whose
// entries could be stored is UNAVAILABLE). Errors carry google.rpc.BadRequest
// or RetryInfo and the SubmitFHIRResponse in their details.
func (s *Service) SubmitFHIR(ctx context.Context, req *gatewayv1.SubmitFHIRRequest) (*gatewayv1.SubmitFHIRResponse, error) {
	if s.fhir == nil {
		return nil, errNoFHIR
	}
	action, err := fhirAction(req.GetAction())
	if err != nil {
		return nil, err
	}
	if (action == fhir.ActionUpdate || action == fhir.ActionDelete) && (req.GetResourceType() == "" || req.GetId() == "") {
		return nil, status.Errorf(codes.InvalidArgument, "%s needs resource_type and id", action)
	}
	if req.GetResourceType() == "" && req.GetId() != "" {
		return nil, status.Error(codes.InvalidArgument, "a Bundle request takes no id")
	}
	if int64(len(req.GetResource())) > s.opts.MaxBodyBytes {
		return nil, status.Errorf(codes.ResourceExhausted, "resource of %d bytes exceeds the limit of %d", len(req.GetResource()), s.opts.MaxBodyBytes)
	}
	fr := fhirdoor.Request{Action: action, ResourceType: req.GetResourceType(), ID: req.GetId()}
	res := s.submitFHIR(ctx, fr, req.GetResource())
	resp := res.proto()
	if err := grpcError(res.out, s.opts.RetryAfter, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

func fhirAction(a gatewayv1.FHIRAction) (fhir.Action, error) {
	switch a {
	case gatewayv1.FHIRAction_FHIR_ACTION_UNSPECIFIED, gatewayv1.FHIRAction_FHIR_ACTION_CREATE:
		return fhir.ActionCreate, nil
	case gatewayv1.FHIRAction_FHIR_ACTION_UPDATE:
		return fhir.ActionUpdate, nil
	case gatewayv1.FHIRAction_FHIR_ACTION_DELETE:
		return fhir.ActionDelete, nil
	default:
		return "", status.Errorf(codes.InvalidArgument, "unknown action %d", a)
	}
}

func protoAction(a fhir.Action) gatewayv1.FHIRAction {
	switch a {
	case fhir.ActionCreate:
		return gatewayv1.FHIRAction_FHIR_ACTION_CREATE
	case fhir.ActionUpdate:
		return gatewayv1.FHIRAction_FHIR_ACTION_UPDATE
	case fhir.ActionDelete:
		return gatewayv1.FHIRAction_FHIR_ACTION_DELETE
	default:
		return gatewayv1.FHIRAction_FHIR_ACTION_UNSPECIFIED
	}
}

// logOutcome logs failed outcomes: method, resource type, stage, reason,
// first error's code and location. Never content.
func (s *Service) logOutcome(method, resourceType string, out pipeline.Outcome) {
	switch out.Status {
	case pipeline.Accepted:
		return
	case pipeline.Unavailable:
		s.log.Warn("message not stored", "method", method, "type", resourceType, "reason", string(out.Reason), "error", errString(out.Cause))
	default:
		f, _ := out.Findings.FirstError()
		s.log.Info("message invalid", "method", method, "type", resourceType, "outcome", out.Status.String(),
			"stage", string(out.Stage), "code", int(f.Code), "location", f.Location)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
