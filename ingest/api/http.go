package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// HTTPOptions configures the REST door.
type HTTPOptions struct {
	// TrustForwardedHeaders derives the FHIR base of Location headers from
	// X-Forwarded-Proto and X-Forwarded-Host (behind a proxy) when
	// ServiceOptions.BaseURL is empty.
	TrustForwardedHeaders bool
	// MuxOptions are added after the door's own grpc-gateway options.
	MuxOptions []runtime.ServeMuxOption
	// Capability is what GET /fhir/metadata states about the connector.
	Capability CapabilityOptions
}

// NewHTTPHandler returns the REST door: svc's HTTP bindings (POST /v1/hl7,
// POST|PUT|DELETE /fhir/...) on a grpc-gateway mux registered in process
// (no loopback gRPC connection), wrapped with the FHIR manners that must
// act before a method runs: content type (415), body limit (413, read
// bounded to limit+1 bytes). Errors are OperationOutcome on /fhir routes
// and plain text on /v1/hl7 when there is no ACK. ctx bounds the
// registration only. The handler is safe for concurrent use.
func NewHTTPHandler(ctx context.Context, svc *Service, opts HTTPOptions) (http.Handler, error) {
	d := &httpDoor{svc: svc, capability: opts.Capability, max: svc.opts.MaxBodyBytes, trustForwarded: opts.TrustForwardedHeaders}
	if d.capability.Published.IsZero() {
		d.capability.Published = time.Now()
	}
	muxOpts := []runtime.ServeMuxOption{
		runtime.WithMarshalerOption(runtime.MIMEWildcard, rawMarshaler{}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithForwardResponseOption(forwardStatus),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
		runtime.WithMetadata(d.annotate),
	}
	d.mux = runtime.NewServeMux(append(muxOpts, opts.MuxOptions...)...)
	if err := gatewayv1.RegisterGatewayServiceHandlerServer(ctx, d.mux, svc); err != nil {
		return nil, fmt.Errorf("register gateway REST handlers: %w", err)
	}
	return d, nil
}

type httpDoor struct {
	svc            *Service
	capability     CapabilityOptions
	mux            *runtime.ServeMux
	max            int64
	trustForwarded bool
}

func isHL7Path(p string) bool { return p == "/v1/hl7" || strings.HasPrefix(p, "/v1/") }

// ServeHTTP checks the content type and reads the body, bounded, before
// the gateway mux decodes it.
func (d *httpDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hl7 := isHL7Path(r.URL.Path)
	if isFHIRPath(r.URL.Path) && d.serveFHIR(w, r) { // fhirhttp.go
		return
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if ok, why := acceptableContentType(hl7, r.Header.Get("Content-Type")); !ok {
			writeDoorError(w, hl7, http.StatusUnsupportedMediaType, "not-supported", why)
			return
		}
		body, err := readBounded(r.Body, r.ContentLength, d.max)
		if err != nil {
			if errors.Is(err, errTooLarge) {
				writeDoorError(w, hl7, http.StatusRequestEntityTooLarge, "too-costly",
					"request body exceeds the limit of "+strconv.FormatInt(d.max, 10)+" bytes")
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// A slow sender: http.read.timeout passed before the whole body came.
				w.Header().Set("Connection", "close")
				writeDoorError(w, hl7, http.StatusRequestTimeout, "timeout", "request body not received within the read timeout")
				return
			}
			writeDoorError(w, hl7, http.StatusBadRequest, "incomplete", "request body could not be read")
			return
		}
		r.Body = &rawBody{data: body}
	}
	d.mux.ServeHTTP(w, r)
}

var errTooLarge = errors.New("request body too large")

// readBounded reads body whole but never more than max+1 bytes; more than
// max is errTooLarge (also when Content-Length announces it: then nothing
// is read).
func readBounded(body io.Reader, contentLength, max int64) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	if contentLength > max {
		return nil, errTooLarge
	}
	var buf bytes.Buffer
	if contentLength > 0 {
		buf.Grow(int(contentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(body, max+1)); err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if int64(buf.Len()) > max {
		return nil, errTooLarge
	}
	return buf.Bytes(), nil
}

// acceptableContentType: FHIR bodies must be application/fhir+json or
// application/json (UTF-8, the only charset FHIR JSON has); HL7 bodies
// application/hl7-v2, x-application/hl7-v2+er7, text/plain,
// application/octet-stream or no type at all (the charset is MSH-18's).
func acceptableContentType(hl7 bool, header string) (bool, string) {
	if header == "" {
		if hl7 {
			return true, ""
		}
		return false, "Content-Type is required: application/fhir+json"
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		return false, "Content-Type cannot be parsed"
	}
	if hl7 {
		switch mt {
		case "application/hl7-v2", "x-application/hl7-v2+er7", "text/plain", "application/octet-stream":
			return true, ""
		}
		return false, "unsupported Content-Type " + mt + " for HL7 v2: use application/hl7-v2"
	}
	if mt != "application/fhir+json" && mt != "application/json" {
		return false, "unsupported Content-Type " + mt + ": use application/fhir+json"
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return false, "unsupported charset " + cs + ": FHIR JSON is UTF-8"
	}
	return true, ""
}

// annotate passes the FHIR base derived from the request to the methods.
func (d *httpDoor) annotate(_ context.Context, r *http.Request) metadata.MD {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if d.trustForwarded {
		if v := r.Header.Get("X-Forwarded-Proto"); v == "http" || v == "https" {
			scheme = v
		}
		if v := r.Header.Get("X-Forwarded-Host"); v != "" {
			host = strings.TrimSpace(strings.Split(v, ",")[0])
		}
	}
	return metadata.Pairs(mdBaseURL, scheme+"://"+host+"/fhir")
}

// incomingHeader passes only Prefer to the methods as metadata: they read
// no other request header, and grpc-gateway would otherwise copy the
// permanent HTTP headers into metadata on every request.
func incomingHeader(key string) (string, bool) {
	if textproto.CanonicalMIMEHeaderKey(key) == "Prefer" {
		return mdPrefer, true
	}
	return "", false
}

// outgoingHeader lets only the answer headers the methods set reach the
// client; other metadata stays internal.
func outgoingHeader(key string) (string, bool) {
	switch strings.ToLower(key) {
	case "location":
		return "Location", true
	case "content-location":
		return "Content-Location", true
	case "etag":
		return "ETag", true
	case "retry-after":
		return "Retry-After", true
	case "x-hl7-ack-code":
		return "X-HL7-Ack-Code", true
	}
	return "", false
}

// forwardStatus writes the status the method chose (mdHTTPCode) for
// successful answers, with Content-Length, and drops an empty Content-Type.
func forwardStatus(ctx context.Context, w http.ResponseWriter, resp proto.Message) error {
	code := http.StatusOK
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		code = metadataCode(md.HeaderMD, code)
	}
	if hb, ok := resp.(*httpbody.HttpBody); ok {
		if hb.GetContentType() == "" {
			w.Header().Del("Content-Type")
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(hb.GetData())))
	}
	w.WriteHeader(code)
	return nil
}

func metadataCode(md metadata.MD, fallback int) int {
	if v := md.Get(mdHTTPCode); len(v) > 0 {
		if c, err := strconv.Atoi(v[0]); err == nil && c >= 100 && c <= 599 {
			return c
		}
	}
	return fallback
}

// errorHandler writes errors: an HttpBody in the status details (the
// method's OperationOutcome or ACK) with the method's status and headers;
// otherwise an OperationOutcome (FHIR) or text (HL7) for the gRPC code.
func errorHandler(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	code := runtime.HTTPStatusFromCode(st.Code())
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		for k, vs := range md.HeaderMD {
			if name, ok := outgoingHeader(k); ok {
				for _, v := range vs {
					w.Header().Add(name, v)
				}
			}
		}
		code = metadataCode(md.HeaderMD, code)
	}
	for _, d := range st.Details() {
		if hb, ok := d.(*httpbody.HttpBody); ok {
			if hb.GetContentType() != "" {
				w.Header().Set("Content-Type", hb.GetContentType())
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(hb.GetData())))
			w.WriteHeader(code)
			_, _ = w.Write(hb.GetData())
			return
		}
	}
	writeDoorError(w, isHL7Path(r.URL.Path), code, issueTypeOf(st.Code()), st.Message())
}

func issueTypeOf(c codes.Code) string {
	switch c {
	case codes.InvalidArgument:
		return "invalid"
	case codes.NotFound:
		return "not-found"
	case codes.Unimplemented:
		return "not-supported"
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return "transient"
	case codes.ResourceExhausted:
		return "throttled"
	default:
		return "exception"
	}
}

// routingErrorHandler answers unknown routes (404) and methods (405).
func routingErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	hl7 := isHL7Path(r.URL.Path)
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		// RFC 9110 requires Allow on a 405.
		w.Header().Set("Allow", bindingAllow(r.URL.Path))
		writeDoorError(w, hl7, httpStatus, "not-supported", "method "+r.Method+" is not supported here")
	case http.StatusNotFound:
		writeDoorError(w, hl7, httpStatus, "not-supported", "no such endpoint")
	default:
		writeDoorError(w, hl7, httpStatus, "exception", http.StatusText(httpStatus))
	}
}

// bindingAllow is the Allow header of a path the mux answers 405, which
// it does only where another method's binding in gateway.proto matches:
// POST /v1/hl7, POST /fhir and /fhir/{type}, PUT and DELETE
// /fhir/{type}/{id}. (The paths FHIR's manners claim, fhirAllow, never
// reach the mux with a method they do not serve.)
func bindingAllow(p string) string {
	if isHL7Path(p) {
		return http.MethodPost
	}
	switch len(fhirSegments(p)) {
	case 0, 1:
		return http.MethodPost
	case 2:
		return "PUT, DELETE"
	}
	return ""
}

// writeDoorError answers with an OperationOutcome (FHIR routes) or a line
// of text (HL7 routes).
func writeDoorError(w http.ResponseWriter, hl7 bool, code int, issueType, msg string) {
	var body []byte
	if hl7 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		body = []byte(msg + "\n")
	} else {
		w.Header().Set("Content-Type", contentTypeFHIR)
		body = simpleOutcome("error", issueType, msg)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
