package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// admit authenticates one request for door: values are the Authorization
// header values (or authorization metadata) received, op the HTTP method or
// gRPC method for the log. It counts the result and logs a failure at Warn
// (door, reason, remote address, principal when known; never the token).
func (a *Authenticator) admit(ctx context.Context, door string, values []string, scope, remote, op string) (Principal, *Error) {
	var p Principal
	var err error
	switch len(values) {
	case 0:
		err = fail(Missing, "missing bearer token")
	case 1:
		p, err = a.Authenticate(ctx, values[0], scope)
	default:
		err = fail(Invalid, "more than one authorization value")
	}
	if err == nil {
		a.m.succeeded(door, p.Kind)
		return p, nil
	}
	e := err.(*Error) // Authenticate returns only *Error
	a.m.failure(door, e.Kind)
	attrs := []any{"door", door, "reason", e.Kind.String(), "remote", remote, "op", op, "err", e.Msg}
	if p.Name != "" {
		attrs = append(attrs, "principal", p.Name)
	}
	a.log.Warn("auth: request refused", attrs...)
	return p, e
}

// HTTPMiddleware authenticates requests to next. scopeFor gives each
// request's scope, or public to skip authentication (nil: no public route,
// scope "" everywhere). An authenticated request reaches next with the
// Principal in its context (PrincipalFrom). A refused one is answered
// here: 401 with a WWW-Authenticate Bearer challenge (RFC 6750; no error
// attribute when credentials are missing) for Missing, Invalid and
// Expired, 403 with error="insufficient_scope" for InsufficientScope. The
// body is a FHIR OperationOutcome (application/fhir+json), on /v1/hl7 as
// well as /fhir: one error shape for the whole REST door. door labels the
// metrics and logs. On a nil *Authenticator it returns next itself.
func (a *Authenticator) HTTPMiddleware(door string, scopeFor func(*http.Request) (scope string, public bool), next http.Handler) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scope, public := "", false
		if scopeFor != nil {
			scope, public = scopeFor(r)
		}
		if public {
			next.ServeHTTP(w, r)
			return
		}
		p, err := a.admit(r.Context(), door, r.Header.Values("Authorization"), scope, r.RemoteAddr, r.Method)
		if err != nil {
			writeRefusal(w, a.realm, err, scope)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// writeRefusal answers a refused request: status, challenge and an
// OperationOutcome.
func writeRefusal(w http.ResponseWriter, realm string, e *Error, scope string) {
	status, issue := http.StatusUnauthorized, "login"
	challenge := "Bearer realm=" + quote(realm)
	switch e.Kind {
	case Missing:
	case InsufficientScope:
		status, issue = http.StatusForbidden, "forbidden"
		challenge += `, error="insufficient_scope", error_description=` + quote(e.Msg) + ", scope=" + quote(scope)
	default:
		challenge += `, error="invalid_token", error_description=` + quote(e.Msg)
	}
	body, _ := json.Marshal(operationOutcome{
		ResourceType: "OperationOutcome",
		Issue:        []outcomeIssue{{Severity: "error", Code: issue, Diagnostics: e.Msg}},
	})
	h := w.Header()
	h.Set("WWW-Authenticate", challenge)
	h.Set("Content-Type", "application/fhir+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type operationOutcome struct {
	ResourceType string         `json:"resourceType"`
	Issue        []outcomeIssue `json:"issue"`
}

type outcomeIssue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics"`
}

// quote is an RFC 9110 quoted-string. The values quoted are this
// package's own messages, scopes and the validated realm.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// ScopeForGatewayPaths is the gateway HTTP listener's route table, for
// HTTPMiddleware: /fhir and /fhir/... need fhir:write; /v1/hl7 (and below)
// hl7:write; /metrics, /healthz and /readyz are public; /connectors... is
// public for GET and HEAD and needs gateway:admin otherwise; any other
// path needs an authenticated principal with no particular scope. The path
// is cleaned first, so //fhir or /x/../fhir get /fhir's scope.
func ScopeForGatewayPaths(r *http.Request) (scope string, public bool) {
	p := path.Clean("/" + r.URL.Path)
	under := func(prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }
	switch {
	case under("/fhir"):
		return ScopeFHIRWrite, false
	case under("/v1/hl7"):
		return ScopeHL7Write, false
	case p == "/metrics" || p == "/healthz" || p == "/readyz":
		return "", true
	case under("/connectors"):
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return "", true
		}
		return ScopeAdmin, false
	}
	return "", false
}
