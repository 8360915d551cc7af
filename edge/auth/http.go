package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// admit authenticates one request for door: values are the Authorization
// header values (or authorization metadata) received, scope the scope the
// route needs; routed is false for a route with no row in the scope
// table, which is refused to every credential (InsufficientScope once the
// credential is valid). op is the HTTP method or gRPC method for the log.
// It counts every result and logs failures at Warn (door, reason, remote
// address, principal when known; never the token), sampled per source
// address (netallow.RefusalLog: the first five per address and minute,
// then one summary line with the count not logged).
func (a *Authenticator) admit(ctx context.Context, door string, values []string, scope string, routed bool, remote, op string) (Principal, *Error) {
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
	if err == nil && !routed {
		err = fail(InsufficientScope, "no scope is defined for this route")
	}
	if err == nil {
		a.m.succeeded(door, p.Kind)
		return p, nil
	}
	e := err.(*Error) // Authenticate returns only *Error
	a.m.failure(door, e.Kind)
	attrs := []any{"door", door, "reason", e.Kind.String(), "op", op, "err", e.Msg}
	if p.Name != "" {
		attrs = append(attrs, "principal", p.Name)
	}
	a.refusals.WarnRemote(remote, "auth: request refused", attrs...)
	return p, e
}

// HTTPMiddleware is the one decision point of an HTTP listener: it
// refuses a request whose path is not canonical (Canonical) before any
// handler, so that the path judged here is the path every router behind
// it serves (401 without a valid credential, else 400); then it looks the
// method and path up in table.
// A public row passes without a credential; any other request needs a
// credential with the row's scope, and a request matching no row is
// refused to every credential (401 without one, 403 with a valid one).
// An authenticated request reaches next with the Principal in its context
// (PrincipalFrom). A refused one is answered here: 401 with a
// WWW-Authenticate Bearer challenge (RFC 6750; no error attribute when
// credentials are missing) for Missing, Invalid and Expired, 403 with
// error="insufficient_scope" for InsufficientScope. The body is a FHIR
// OperationOutcome (application/fhir+json), on /v1/hl7 as well as /fhir:
// one error shape for the whole REST door. door labels the metrics and
// logs. On a nil *Authenticator only the path check remains
// (CanonicalPaths).
func (a *Authenticator) HTTPMiddleware(door string, table *RouteTable, next http.Handler) http.Handler {
	if a == nil {
		return CanonicalPaths(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if perr := Canonical(r); perr != nil {
			// No route is judged for such a path: without a valid
			// credential it is 401 like any other, with one 400.
			if _, err := a.admit(r.Context(), door, r.Header.Values("Authorization"), "", true, r.RemoteAddr, r.Method); err != nil {
				writeRefusal(w, a.realm, err, "")
				return
			}
			writePathRefusal(w, perr)
			return
		}
		rule, _, routed := table.Lookup(r)
		if routed && rule.Public {
			next.ServeHTTP(w, r)
			return
		}
		p, err := a.admit(r.Context(), door, r.Header.Values("Authorization"), rule.Scope, routed, r.RemoteAddr, r.Method)
		if err != nil {
			writeRefusal(w, a.realm, err, rule.Scope)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// CanonicalPaths answers 400 to a request whose path is not canonical
// (Canonical) and passes the others to next. HTTPMiddleware does this
// itself; a listener without authentication uses it alone.
func CanonicalPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := Canonical(r); err != nil {
			writePathRefusal(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writePathRefusal answers 400 with an OperationOutcome and closes the
// connection: a client sending such paths is probing, not submitting.
func writePathRefusal(w http.ResponseWriter, err error) {
	w.Header().Set("Connection", "close")
	writeOutcome(w, http.StatusBadRequest, "invalid", err.Error())
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
		challenge += `, error="insufficient_scope", error_description=` + quote(e.Msg)
		if scope != "" {
			challenge += ", scope=" + quote(scope)
		}
	default:
		challenge += `, error="invalid_token", error_description=` + quote(e.Msg)
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeOutcome(w, status, issue, e.Msg)
}

// writeOutcome answers status with an OperationOutcome of one error issue.
func writeOutcome(w http.ResponseWriter, status int, issue, diagnostics string) {
	body, _ := json.Marshal(operationOutcome{
		ResourceType: "OperationOutcome",
		Issue:        []outcomeIssue{{Severity: "error", Code: issue, Diagnostics: diagnostics}},
	})
	h := w.Header()
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
