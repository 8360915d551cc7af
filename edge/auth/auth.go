// Package auth authenticates the gateway's REST and gRPC doors with bearer
// tokens and authorises them with scopes.
//
// Two kinds of credential are accepted, in the Authorization header (REST)
// or the authorization metadata (gRPC), as "Bearer <credential>":
//
//   - Static API keys, configured only as HashKey(key) ("sha256:<hex>").
//     The presented key is hashed and compared in constant time with every
//     configured hash. Keys should be random, 128 bits or more: the hash is
//     not salted.
//   - JWTs (compact JWS) signed RS256 or ES256 with a key of a JWKS read
//     from a file or an http(s) URL. exp is required; nbf and iat are
//     checked with a leeway; iss must equal the configured issuer and aud
//     contain the configured audience. Scopes come from scope and scp.
//     Every other algorithm (none, HS256, ...) is refused.
//
// Routes map to scopes (ScopeForGatewayPaths, ScopeForMethod); the empty
// scope means any authenticated principal. Failures are typed (*Error):
// Missing, Invalid and Expired are answered 401 / UNAUTHENTICATED,
// InsufficientScope 403 / PERMISSION_DENIED. Answers and logs never carry
// the credential.
//
// A nil *Authenticator is authentication turned off: its middleware and
// interceptors pass every request through unchanged and Run only waits for
// its context, so callers wire it unconditionally.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Authenticator checks credentials. Safe for concurrent use; a nil
// *Authenticator accepts everything (see the package documentation).
type Authenticator struct {
	realm string
	keys  []apiKey
	jwt   *jwtVerifier // nil: JWTs are not accepted
	m     *Metrics
	log   *slog.Logger
}

type apiKey struct {
	name   string
	hash   [sha256.Size]byte
	scopes []string
}

// New validates cfg and, when JWTs are configured, loads the JWKS once
// (fetching the URL, bounded by FetchTimeout, or reading the file). A
// configuration or JWKS error is returned, so a misconfigured gateway fails
// at start. m may be nil (no metrics), log may be nil (no logs). Call Run
// to keep the JWKS fresh.
func New(ctx context.Context, cfg Config, m *Metrics, log *slog.Logger) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{realm: cfg.Realm, m: m, log: log}
	if a.realm == "" {
		a.realm = DefaultRealm
	}
	for _, k := range cfg.APIKeys {
		h, _ := parseHash(k.Hash) // checked by Validate
		a.keys = append(a.keys, apiKey{name: k.Name, hash: h, scopes: append([]string(nil), k.Scopes...)})
	}
	if cfg.JWT != nil {
		v, err := newJWTVerifier(ctx, *cfg.JWT, m, log)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		a.jwt = v
	}
	return a, nil
}

// Run refreshes the JWKS every RefreshInterval (refetching the URL, or
// rereading the file and using it if it changed) until ctx ends. A failed
// refresh is logged and counted, and the previous keys stay in use. With
// no JWKS to refresh, or on a nil *Authenticator, it just waits for ctx.
func (a *Authenticator) Run(ctx context.Context) {
	if a == nil || a.jwt == nil {
		<-ctx.Done()
		return
	}
	a.jwt.run(ctx)
}

// Authenticate checks the value of an Authorization header ("Bearer
// <API key or JWT>") and that the principal has scope ("" needs none).
// On InsufficientScope it returns the principal too. Every error is an
// *Error. It blocks only when a JWT names an unknown kid and a JWKS
// refetch is allowed (see JWTConfig.MinRefetchInterval), at most until
// ctx ends or FetchTimeout. On a nil *Authenticator it returns the zero
// Principal and no error.
func (a *Authenticator) Authenticate(ctx context.Context, authorization, scope string) (Principal, error) {
	if a == nil {
		return Principal{}, nil
	}
	token, err := bearerToken(authorization)
	if err != nil {
		return Principal{}, err
	}
	p, err := a.identify(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	if !p.HasScope(scope) {
		return p, fail(InsufficientScope, "credentials lack scope "+scope)
	}
	return p, nil
}

// bearerToken takes the credential out of an Authorization value.
func bearerToken(authorization string) (string, error) {
	if strings.TrimSpace(authorization) == "" {
		return "", fail(Missing, "missing bearer token")
	}
	scheme, token, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", fail(Invalid, "authorization scheme must be Bearer")
	}
	token = strings.Trim(token, " ")
	switch {
	case token == "":
		return "", fail(Invalid, "empty bearer token")
	case len(token) > MaxTokenBytes:
		return "", fail(Invalid, "token too long")
	case strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return "", fail(Invalid, "malformed bearer token")
	}
	return token, nil
}

// identify finds who token belongs to: a configured API key, else a JWT.
func (a *Authenticator) identify(ctx context.Context, token string) (Principal, error) {
	if k := a.matchAPIKey(token); k != nil {
		return Principal{Name: k.name, Scopes: slices.Clone(k.scopes), Kind: KindAPIKey}, nil
	}
	if a.jwt != nil && (len(a.keys) == 0 || strings.Count(token, ".") == 2) {
		return a.jwt.verify(ctx, token)
	}
	return Principal{}, fail(Invalid, "unknown API key")
}

// matchAPIKey compares token's hash with every configured hash in
// constant time, without stopping at a match.
func (a *Authenticator) matchAPIKey(token string) *apiKey {
	if len(a.keys) == 0 {
		return nil
	}
	h := sha256.Sum256([]byte(token))
	var found *apiKey
	for i := range a.keys {
		if subtle.ConstantTimeCompare(h[:], a.keys[i].hash[:]) == 1 {
			found = &a.keys[i]
		}
	}
	return found
}
