package api

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hl7gw/gateway/fhir"
	"github.com/hl7gw/gateway/fhir/fhirval"
)

// This file holds the FHIR manners the REST door applies before the
// grpc-gateway mux sees a request under /fhir: the CapabilityStatement,
// FHIR's 405 for the read and search interactions a write-only facade does
// not serve, content negotiation (406, 415) and conditional or versioned
// requests (412, 400). Whatever it refuses never reaches a pipeline, so
// nothing is written for it.

// isFHIRPath reports whether p is the FHIR base or below it.
func isFHIRPath(p string) bool { return p == "/fhir" || strings.HasPrefix(p, "/fhir/") }

// fhirSegments splits the path below /fhir ("/fhir/Patient/1" -> Patient, 1).
func fhirSegments(p string) []string {
	rest := strings.Trim(strings.TrimPrefix(p, "/fhir"), "/")
	if rest == "" {
		return nil
	}
	return strings.Split(rest, "/")
}

// fhirAllow is the Allow header of a FHIR path: the methods the gateway
// serves there, "" for none (history, search, operations and compartments
// are FHIR interactions the gateway does not serve at all). ok is false for
// paths that are no FHIR interaction at all; they are left to the mux
// (404).
func fhirAllow(segs []string) (allow string, ok bool) {
	special := func(s string) bool { return strings.HasPrefix(s, "_") || strings.HasPrefix(s, "$") }
	op := func(s string) bool { return strings.HasPrefix(s, "$") }
	switch n := len(segs); {
	case n == 0:
		return "POST", true // transaction, batch
	case n == 1 && segs[0] == "metadata":
		return "GET, HEAD", true
	case n == 1 && (segs[0] == "_history" || segs[0] == "_search" || op(segs[0])):
		return "", true // whole-system history, search, operations
	case special(segs[0]):
		return "", false
	case n == 1:
		return "POST", true // create
	case n == 2 && (segs[1] == "_history" || segs[1] == "_search" || op(segs[1])):
		return "", true // type history, search, operations
	case n == 2 && !special(segs[1]):
		return "PUT, DELETE", true // update, delete
	case n == 3 && (segs[2] == "_history" || op(segs[2]) || fhirval.KnownResourceType(segs[2])):
		return "", true // instance history, operations, compartment search
	case n == 4 && segs[2] == "_history":
		return "", true // vread
	}
	return "", false
}

// serveFHIR answers the requests under /fhir that the mux must not see and
// reports whether it did.
func (d *httpDoor) serveFHIR(w http.ResponseWriter, r *http.Request) bool {
	segs := fhirSegments(r.URL.Path)
	allow, ok := fhirAllow(segs)
	if !ok {
		return false
	}
	if len(segs) == 1 && (r.Method == http.MethodPut || r.Method == http.MethodDelete) && searchQuery(r.URL.Query()) {
		// PUT or DELETE [base]/Type?search: conditional update or delete.
		if ok, why := acceptsJSON(r); !ok {
			writeFHIRError(w, http.StatusNotAcceptable, "not-supported", why)
			return true
		}
		writeFHIRError(w, http.StatusBadRequest, "not-supported", fhir.CondSearch.Why())
		return true
	}
	if !allowed(allow, r.Method) {
		w.Header().Set("Allow", allow)
		writeFHIRError(w, http.StatusMethodNotAllowed, "not-supported", notAllowedText(r.Method, allow))
		return true
	}
	if ok, why := acceptsJSON(r); !ok {
		writeFHIRError(w, http.StatusNotAcceptable, "not-supported", why)
		return true
	}
	if allow == "GET, HEAD" {
		d.writeCapability(w, r)
		return true
	}
	if ok, why := fhirContentType(r.Header.Get("Content-Type")); !ok {
		writeFHIRError(w, http.StatusUnsupportedMediaType, "not-supported", why)
		return true
	}
	if c := headerCondition(r.Header); c != "" {
		writeFHIRError(w, http.StatusPreconditionFailed, "not-supported", c.Why())
		return true
	}
	return false
}

func allowed(allow, method string) bool {
	for _, m := range strings.Split(allow, ", ") {
		if m != "" && m == method {
			return true
		}
	}
	return false
}

func notAllowedText(method, allow string) string {
	if method == http.MethodGet || method == http.MethodHead || method == http.MethodPost && allow == "" {
		return "this gateway is a write-only FHIR facade: it serves create, update, delete, transaction and batch, " +
			"and no read, vread, search, history or operation (GET [base]/metadata says so)"
	}
	if allow == "" {
		return "method " + method + " is not supported here: this path serves no method"
	}
	return "method " + method + " is not supported here; allowed: " + allow
}

// writeCapability answers GET|HEAD [base]/metadata.
func (d *httpDoor) writeCapability(w http.ResponseWriter, r *http.Request) {
	base := d.svc.opts.BaseURL
	if base == "" {
		base = d.annotate(r.Context(), r).Get(mdBaseURL)[0]
	}
	body := capability(d.capability, strings.TrimSuffix(base, "/"))
	w.Header().Set("Content-Type", contentTypeFHIR)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// searchQuery reports whether q holds search parameters (anything but the
// general parameters _format and _pretty).
func searchQuery(q url.Values) bool {
	for k := range q {
		if k != "_format" && k != "_pretty" {
			return true
		}
	}
	return false
}

// headerCondition is the first conditional or versioned request header
// present, "" when there is none. If-Unmodified-Since is a precondition
// too; it is reported as If-Modified-Since's kin.
func headerCondition(h http.Header) fhir.Condition {
	switch {
	case h.Get("If-None-Exist") != "":
		return fhir.CondIfNoneExist
	case h.Get("If-Match") != "":
		return fhir.CondIfMatch
	case h.Get("If-None-Match") != "":
		return fhir.CondIfNoneMatch
	case h.Get("If-Modified-Since") != "" || h.Get("If-Unmodified-Since") != "":
		return fhir.CondIfModifiedSince
	}
	return ""
}

// jsonTypes are the media types the gateway answers with
// (application/json+fhir is FHIR DSTU2's name, still sent by old clients).
var jsonTypes = map[string]bool{
	"application/fhir+json": true, "application/json": true, "application/json+fhir": true,
	"*/*": true, "application/*": true,
}

// formatAliases are the _format values FHIR defines besides media types.
var formatAliases = map[string]string{
	"json": "application/fhir+json", "xml": "application/fhir+xml",
	"ttl": "text/turtle", "html": "text/html",
}

// acceptsJSON applies FHIR's content negotiation: _format overrides
// Accept; an absent Accept accepts anything. The answer is FHIR 4.0 JSON,
// so a request that accepts only other formats (XML, Turtle) or other FHIR
// versions (fhirVersion parameter) is refused with the reason.
func acceptsJSON(r *http.Request) (bool, string) {
	if f := r.URL.Query().Get("_format"); f != "" {
		// An unescaped '+' in the query reads as a space
		// (_format=application/fhir+json); FHIR asks servers to take it.
		f = strings.ReplaceAll(f, " ", "+")
		if a, ok := formatAliases[strings.ToLower(f)]; ok {
			f = a
		}
		if ok, _ := mediaRangeOK(f); !ok {
			return false, "_format " + safeText(f) + " is not served: this gateway answers application/fhir+json (FHIR 4.0) only"
		}
		return true, ""
	}
	accept := strings.Join(r.Header.Values("Accept"), ",")
	if strings.TrimSpace(accept) == "" {
		return true, ""
	}
	why := ""
	for _, rng := range strings.Split(accept, ",") {
		ok, reason := mediaRangeOK(rng)
		if ok {
			return true, ""
		}
		if why == "" {
			why = reason
		}
	}
	return false, "Accept names no format this gateway serves" + why + ": it answers application/fhir+json (FHIR 4.0) only"
}

// mediaRangeOK reports whether one Accept media range (or _format value)
// admits FHIR 4.0 JSON, and otherwise why not (" (...)", or "").
func mediaRangeOK(rng string) (bool, string) {
	mt, params, err := mime.ParseMediaType(strings.TrimSpace(rng))
	if err != nil {
		return false, ""
	}
	if q, ok := params["q"]; ok {
		if v, err := strconv.ParseFloat(q, 64); err != nil || v <= 0 {
			return false, ""
		}
	}
	if !jsonTypes[mt] {
		return false, " (" + safeText(mt) + " is not served)"
	}
	if v, ok := params["fhirversion"]; ok && !r4Version(v) {
		return false, " (fhirVersion " + safeText(v) + " is not served)"
	}
	return true, ""
}

// fhirContentType checks what acceptableContentType does not: XML bodies
// and the fhirVersion parameter. A missing or other type is left to
// acceptableContentType.
func fhirContentType(header string) (bool, string) {
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		return true, ""
	}
	if strings.HasSuffix(mt, "xml") || strings.Contains(mt, "xml+") {
		return false, "Content-Type " + safeText(mt) + " is not served: send FHIR JSON (application/fhir+json)"
	}
	if v, ok := params["fhirversion"]; ok && !r4Version(v) {
		return false, "fhirVersion " + safeText(v) + " is not served: this gateway takes FHIR 4.0 (R4) only"
	}
	return true, ""
}

// r4Version: the fhirVersion MIME parameter names a FHIR release by
// major.minor ("4.0"); the patch form is taken too.
func r4Version(v string) bool { return v == "4.0" || v == "4.0.1" }

// safeText keeps a client-sent token printable and short for diagnostics.
func safeText(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// writeFHIRError answers with an OperationOutcome of one error issue.
func writeFHIRError(w http.ResponseWriter, code int, issueType, msg string) {
	writeDoorError(w, false, code, issueType, msg)
}
