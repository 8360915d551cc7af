package auth

import (
	"context"
	"slices"
)

// Kind classifies an authentication failure. Its String form is the
// `reason` label of gateway_auth_failures_total.
type Kind int

// The kinds of failure. Missing, Invalid and Expired are answered 401 /
// UNAUTHENTICATED, InsufficientScope 403 / PERMISSION_DENIED.
const (
	// Missing: no credentials at all (no Authorization header or metadata).
	Missing Kind = iota + 1
	// Invalid: malformed credentials, a bad signature, an unknown signing
	// key or API key, a refused algorithm, the wrong issuer or audience, a
	// token not valid yet.
	Invalid
	// Expired: a signed token whose exp (plus leeway) has passed.
	Expired
	// InsufficientScope: valid credentials lacking the scope the route needs.
	InsufficientScope
)

// String returns missing, invalid, expired or insufficient_scope.
func (k Kind) String() string {
	switch k {
	case Missing:
		return "missing"
	case Invalid:
		return "invalid"
	case Expired:
		return "expired"
	case InsufficientScope:
		return "insufficient_scope"
	}
	return "unknown"
}

// Error is every failure Authenticate returns. Msg is fixed text written by
// this package, safe to send to the client: it never contains the token,
// the API key or any claim value taken from the token.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Is reports whether target is an *Error of the same Kind with an empty or
// equal Msg, so errors.Is(err, &auth.Error{Kind: auth.Expired}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && (t.Msg == "" || t.Msg == e.Msg)
}

func fail(k Kind, msg string) *Error { return &Error{Kind: k, Msg: msg} }

// Principal kinds, the `kind` label of gateway_auth_success_total.
const (
	KindAPIKey = "api_key"
	KindJWT    = "jwt"
)

// Principal is who made a request: the API key's configured name or the
// JWT's sub, with the scopes granted.
type Principal struct {
	Name   string
	Scopes []string
	Kind   string // KindAPIKey or KindJWT
}

// HasScope reports whether p was granted scope; the empty scope is granted
// to every principal. Scopes are compared exactly: gateway:admin does not
// imply hl7:write or fhir:write.
func (p Principal) HasScope(scope string) bool {
	return scope == "" || slices.Contains(p.Scopes, scope)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p. The middleware and interceptors do
// this; it is exported for tests of handlers that read PrincipalFrom.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal the middleware or interceptors put in
// ctx; ok is false on public routes and when authentication is disabled.
func PrincipalFrom(ctx context.Context) (p Principal, ok bool) {
	p, ok = ctx.Value(principalKey{}).(Principal)
	return p, ok
}
