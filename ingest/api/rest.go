package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/hl7gw/gateway/fhir"
	"github.com/hl7gw/gateway/ingest/fhirdoor"
	"github.com/hl7gw/gateway/pipeline"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// The REST-shaped methods below are bound to HTTP routes by grpc-gateway
// (see gateway.proto) and are also callable over gRPC. They answer with an
// HttpBody (a FHIR resource, an OperationOutcome, an HL7 ACK) and put the
// HTTP status and headers into the response header metadata; the HTTP
// door (http.go) turns those into the real status line and headers. When
// the outcome is not OK for gRPC the body travels in the error's details,
// so REST clients get the same body either way.

const (
	contentTypeFHIR = "application/fhir+json; charset=utf-8"
	contentTypeHL7  = "application/hl7-v2"

	// mdHTTPCode carries the HTTP status from a method to the HTTP door.
	mdHTTPCode = "x-gateway-http-code"
	// mdBaseURL carries the FHIR base derived from the HTTP request.
	mdBaseURL = "x-gateway-base-url"
	// mdPrefer is the FHIR Prefer header, forwarded by the HTTP door; gRPC
	// callers may send it as metadata too.
	mdPrefer = "prefer"
)

// answer is a REST answer before it is written.
type answer struct {
	httpCode    int
	grpcCode    codes.Code
	out         pipeline.Outcome
	header      metadata.MD
	contentType string
	body        []byte
}

// send hands the answer to the caller: status and headers as metadata, the
// body as the response, or inside the error's details when the gRPC code
// is not OK.
func (s *Service) send(ctx context.Context, a answer) (*httpbody.HttpBody, error) {
	md := metadata.MD{}
	for k, v := range a.header {
		md[k] = v
	}
	md.Set(mdHTTPCode, strconv.Itoa(a.httpCode))
	if a.httpCode == http.StatusServiceUnavailable {
		md.Set("retry-after", strconv.Itoa(int((s.opts.RetryAfter+999_999_999)/1_000_000_000)))
	}
	// SetHeader fails only outside an RPC (no stream in ctx); the answer is
	// then returned without headers.
	_ = grpc.SetHeader(ctx, md)
	body := &httpbody.HttpBody{ContentType: a.contentType, Data: a.body}
	if a.grpcCode == codes.OK {
		return body, nil
	}
	return nil, detailedError(a.grpcCode, statusMessage(a.out), a.out, s.opts.RetryAfter, body)
}

// PostHL7 is POST /v1/hl7: the raw HL7 message in, the raw ACK out, with
// 200, 400/422 or 503 as httpStatus decides.
func (s *Service) PostHL7(ctx context.Context, req *gatewayv1.PostHL7Request) (*httpbody.HttpBody, error) {
	if s.hl7 == nil {
		return nil, errNoHL7
	}
	a := s.hl7.Answer(ctx, req.GetBody().GetData())
	s.logOutcome("PostHL7", "", a.Outcome)
	return s.send(ctx, answer{
		httpCode: httpStatus(a.Outcome, false), grpcCode: grpcCode(a.Outcome), out: a.Outcome,
		header:      metadata.Pairs("x-hl7-ack-code", a.Code),
		contentType: contentTypeHL7, body: a.ACK,
	})
}

// CreateResource is POST [base]/{type}.
func (s *Service) CreateResource(ctx context.Context, req *gatewayv1.CreateResourceRequest) (*httpbody.HttpBody, error) {
	return s.restFHIR(ctx, fhirdoor.Request{Action: fhir.ActionCreate, ResourceType: req.GetResourceType()}, req.GetBody().GetData())
}

// UpdateResource is PUT [base]/{type}/{id}.
func (s *Service) UpdateResource(ctx context.Context, req *gatewayv1.UpdateResourceRequest) (*httpbody.HttpBody, error) {
	return s.restFHIR(ctx, fhirdoor.Request{Action: fhir.ActionUpdate, ResourceType: req.GetResourceType(), ID: req.GetId()}, req.GetBody().GetData())
}

// DeleteResource is DELETE [base]/{type}/{id}.
func (s *Service) DeleteResource(ctx context.Context, req *gatewayv1.DeleteResourceRequest) (*httpbody.HttpBody, error) {
	return s.restFHIR(ctx, fhirdoor.Request{Action: fhir.ActionDelete, ResourceType: req.GetResourceType(), ID: req.GetId()}, nil)
}

// SubmitBundle is POST [base] with a transaction or batch Bundle.
func (s *Service) SubmitBundle(ctx context.Context, req *gatewayv1.SubmitBundleRequest) (*httpbody.HttpBody, error) {
	return s.restFHIR(ctx, fhirdoor.Request{Action: fhir.ActionCreate}, req.GetBody().GetData())
}

func (s *Service) restFHIR(ctx context.Context, req fhirdoor.Request, raw []byte) (*httpbody.HttpBody, error) {
	if s.fhir == nil {
		return nil, errNoFHIR
	}
	res := s.submitFHIR(ctx, req, raw)
	return s.send(ctx, s.fhirAnswer(ctx, res, raw))
}

// conditionAnswer refuses a Bundle with conditional entries: 412 when one
// is a precondition, else 400, with an issue per entry; nothing was
// written.
func conditionAnswer(conds []fhir.EntryCondition) answer {
	code, grpc := http.StatusBadRequest, codes.InvalidArgument
	issues := make([]issue, 0, len(conds))
	for _, c := range conds {
		if c.Condition.Precondition() {
			code, grpc = http.StatusPreconditionFailed, codes.FailedPrecondition
		}
		issues = append(issues, issue{Severity: "error", Code: "not-supported", Diagnostics: c.Condition.Why(), Expression: []string{c.Location()}})
	}
	return answer{httpCode: code, grpcCode: grpc, header: metadata.MD{}, contentType: contentTypeFHIR, body: renderOutcome(issues)}
}

// fhirAnswer applies FHIR's manners to a result: status, Location,
// Content-Location and ETag of the version a create or update made (none
// for a delete), and the body the Prefer header asks for (errors are always
// an OperationOutcome; Bundles always a response Bundle; a delete without
// a body is 204).
func (s *Service) fhirAnswer(ctx context.Context, res fhirResult, raw []byte) answer {
	created := res.req.Action == fhir.ActionCreate && res.req.ResourceType != ""
	if len(res.conds) > 0 {
		return conditionAnswer(res.conds)
	}
	a := answer{
		httpCode: httpStatus(res.out, created), grpcCode: grpcCode(res.out), out: res.out,
		header: metadata.MD{}, contentType: contentTypeFHIR,
	}
	if res.out.Status != pipeline.Accepted {
		a.body = renderOutcome(outcomeIssues(res.out, ""))
		return a
	}
	if res.req.ResourceType == "" {
		a.body = s.responseBundle(res)
		return a
	}
	what := res.resourceType() + "/" + res.id()
	if vid := versionID(res.req.Action, eventID(res.msg)); vid != "" {
		setVersion(a.header, s.baseURL(ctx)+"/"+what, vid)
	}
	switch prefer(ctx) {
	case "minimal":
		a.contentType, a.body = "", nil
		if res.req.Action == fhir.ActionDelete {
			a.httpCode = http.StatusNoContent
		}
	case "OperationOutcome":
		a.body = renderOutcome(outcomeIssues(res.out, what))
	default: // representation, or no preference
		if res.req.Action == fhir.ActionDelete {
			a.body = renderOutcome(outcomeIssues(res.out, what))
		} else {
			a.body = representation(res.msg, raw, res.id())
		}
	}
	return a
}

// versionID is the version an accepted request made, for Location and
// ETag: fhir.VersionID (the record's event id) for a create or an update,
// one scheme for both, and "" for a delete, whose answer names no version.
func versionID(action fhir.Action, eventID string) string {
	if action == fhir.ActionDelete || eventID == "" {
		return ""
	}
	return fhir.VersionID(eventID)
}

// representation is the resource a create or update answers with: the
// stored form the records are made of (id, meta.versionId,
// meta.lastUpdated set), or raw with the assigned id when there is none.
func representation(m *fhirdoor.Message, raw []byte, id string) []byte {
	switch {
	case m != nil && m.Stored != nil:
		return m.Stored
	case m.AssignedID():
		return withID(raw, id)
	}
	return raw
}

func eventID(m *fhirdoor.Message) string {
	if m == nil {
		return ""
	}
	return m.EventID
}

// setVersion sets the headers FHIR asks of a create or update: Location
// and Content-Location [base]/{type}/{id}/_history/{vid}, and ETag
// W/"{vid}".
func setVersion(md metadata.MD, resourceURL, vid string) {
	loc := resourceURL + "/_history/" + vid
	md.Set("location", loc)
	md.Set("content-location", loc)
	md.Set("etag", `W/"`+vid+`"`)
}

// responseBundle is the transaction-response or batch-response Bundle of
// an accepted Bundle request.
func (s *Service) responseBundle(res fhirResult) []byte {
	if res.batch {
		b := bundle{ResourceType: "Bundle", Type: "batch-response"}
		for _, e := range res.entries {
			if e.entry.Condition != "" {
				b.Entry = append(b.Entry, bundleEntry{Response: conditionResponse(fhir.EntryCondition{Index: e.entry.Index, Condition: e.entry.Condition})})
				continue
			}
			id := e.entry.ID
			if e.msg != nil && e.msg.ID != "" {
				id = e.msg.ID
			}
			r := entryResponse(e.out, e.entry.Action, e.entry.ResourceType, id, versionID(e.entry.Action, eventID(e.msg)))
			if e.msg != nil {
				r.LastModified = lastModified(e.out, e.msg.LastUpdated)
			}
			b.Entry = append(b.Entry, bundleEntry{FullURL: e.entry.FullURL, Response: r})
		}
		return renderBundle(b)
	}
	b := bundle{ResourceType: "Bundle", Type: "transaction-response"}
	for _, e := range res.transactionEntries() {
		r := entryResponse(res.out, e.Action, e.ResourceType, e.ID, versionID(e.Action, e.EventID))
		r.LastModified = lastModified(res.out, e.LastUpdated)
		b.Entry = append(b.Entry, bundleEntry{FullURL: e.FullURL, Response: r})
	}
	return renderBundle(b)
}

// baseURL is the configured FHIR base, else the one the HTTP door derived
// from the request, else "" (relative locations over gRPC).
func (s *Service) baseURL(ctx context.Context) string {
	if s.opts.BaseURL != "" {
		return strings.TrimSuffix(s.opts.BaseURL, "/")
	}
	if v := metadata.ValueFromIncomingContext(ctx, mdBaseURL); len(v) > 0 {
		return v[0]
	}
	return ""
}

// prefer is the return preference of the Prefer header (RFC 7240, FHIR
// http.html#prefer): "minimal", "representation", "OperationOutcome", or
// "" when none was given.
func prefer(ctx context.Context) string {
	return preferReturn(metadata.ValueFromIncomingContext(ctx, mdPrefer))
}

// preferReturn parses Prefer header values; the first return= preference
// with a known value wins.
func preferReturn(headers []string) string {
	for _, h := range headers {
		for _, p := range strings.Split(h, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "return") {
				continue
			}
			v = strings.Trim(strings.TrimSpace(v), `"`)
			switch {
			case strings.EqualFold(v, "minimal"):
				return "minimal"
			case strings.EqualFold(v, "representation"):
				return "representation"
			case strings.EqualFold(v, "OperationOutcome"):
				return "OperationOutcome"
			}
		}
	}
	return ""
}

// withID returns a copy of raw, a JSON object without an id, with "id"
// set to id. raw without an opening brace is returned unchanged.
func withID(raw []byte, id string) []byte {
	i := bytes.IndexByte(raw, '{')
	if i < 0 {
		return raw
	}
	quoted, _ := json.Marshal(id)
	rest := bytes.TrimLeft(raw[i+1:], " \t\r\n")
	out := make([]byte, 0, len(raw)+len(quoted)+8)
	out = append(out, raw[:i+1]...)
	out = append(out, `"id":`...)
	out = append(out, quoted...)
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, raw[i+1:]...)
}
