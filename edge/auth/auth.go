// Package auth authenticates the gateway's REST and gRPC doors with bearer
// tokens and authorises them with scopes.
//
// Two kinds of credential are accepted, in the Authorization header (REST)
// or the authorization metadata (gRPC), as "Bearer <credential>":
//
//   - Static API keys, configured only as HashKey(key) ("sha256:<hex>").
//     The presented key is hashed and compared in constant time with every
//     configured hash. Keys should be random, 128 bits or more: the hash is
//     not salted. Keys come from the configuration or from an API key file
//     (LoadAPIKeyFile), which Run re-reads when it changes, so keys are
//     added and revoked without a restart.
//   - JWTs (compact JWS) signed RS256 or ES256 with a key of a JWKS read
//     from a file or an http(s) URL; go-jose (v4) parses the JWS and the
//     keys and checks signatures, the gateway's own stricter checks
//     around it (jwt.go, jwks.go). exp is required; nbf and iat are
//     checked with a leeway; iss must equal the configured issuer and aud
//     contain the configured audience. Scopes come from scope and scp.
//     Every other algorithm (none, HS256, ...) is refused.
//
// Routes map to scopes in one table per door (GatewayRoutes, GRPCMethods):
// a public row needs no credential, the empty scope means any
// authenticated principal, and a route or method with no row is refused
// to every credential. HTTP paths that are not canonical are refused
// before the table is read (Canonical). Failures are typed (*Error):
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/hl7gw/gateway/edge/netallow"
)

// refusalSummary is the message of the line that reports the refusals a
// source had past its first logged ones (see netallow.RefusalLog).
const refusalSummary = "auth: refusals not logged"

// Authenticator checks credentials. Safe for concurrent use; a nil
// *Authenticator accepts everything (see the package documentation).
type Authenticator struct {
	realm  string
	static []APIKey // Config.APIKeys, checked again with every key file
	file   *apiKeyFile
	jwt    *jwtVerifier // nil: JWTs are not accepted
	m      *Metrics
	log    *slog.Logger
	// refusals samples the log lines of refused credentials.
	refusals *netallow.RefusalLog

	// keys are the API keys accepted now, static and from the file; never
	// nil after New. A reload swaps the whole set, so Authenticate reads
	// it without a lock and sees the old or the new set, never a mix.
	keys atomic.Pointer[apiKeySet]
}

// apiKeySet is an immutable set of API keys.
type apiKeySet struct {
	keys []apiKey
}

type apiKey struct {
	name   string
	hash   [sha256.Size]byte
	scopes []string
}

// apiKeyFile is Config.APIKeysFile and what Run last read from it.
type apiKeyFile struct {
	path     string
	interval time.Duration

	mu sync.Mutex // serialises reloads
	// digest is the SHA-256 of the content last tried (of the error text
	// when the file could not be read). Guarded by mu.
	digest [sha256.Size]byte
	// stale: the content last tried did not load, so older keys are in
	// use. Guarded by mu.
	stale bool
}

// New validates cfg, reads the API key file if one is configured and, when
// JWTs are configured, loads the JWKS once (fetching the URL, bounded by
// FetchTimeout, or reading the file). A configuration, key file or JWKS
// error is returned, so a misconfigured gateway fails at start. m may be
// nil (no metrics), log may be nil (no logs). Call Run to keep the key
// file and the JWKS fresh.
func New(ctx context.Context, cfg Config, m *Metrics, log *slog.Logger) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{realm: cfg.Realm, static: slices.Clone(cfg.APIKeys), m: m, log: log,
		refusals: netallow.NewRefusalLog(log, netallow.RefusalLogOptions{Summary: refusalSummary})}
	if a.realm == "" {
		a.realm = DefaultRealm
	}
	var fileKeys []APIKey
	if cfg.APIKeysFile != "" {
		a.file = &apiKeyFile{path: cfg.APIKeysFile, interval: cfg.apiKeysReloadInterval()}
		b, err := readAPIKeyFile(cfg.APIKeysFile)
		if err == nil {
			fileKeys, err = parseAPIKeyFile(cfg.APIKeysFile, b)
		}
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		a.file.digest = sha256.Sum256(b)
	}
	set, err := a.keySet(fileKeys)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	a.keys.Store(set)
	if cfg.JWT != nil {
		v, err := newJWTVerifier(ctx, *cfg.JWT, m, log)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		a.jwt = v
	}
	m.addAPIKeys(len(set.keys))
	return a, nil
}

// keySet validates the static keys with fileKeys (names and hashes must be
// unique across both) and returns them as a set.
func (a *Authenticator) keySet(fileKeys []APIKey) (*apiKeySet, error) {
	all := append(slices.Clone(a.static), fileKeys...)
	if err := validateAPIKeys(all); err != nil {
		return nil, err
	}
	set := &apiKeySet{keys: make([]apiKey, 0, len(all))}
	for _, k := range all {
		h, _ := parseHash(k.Hash) // checked by validateAPIKeys
		set.keys = append(set.keys, apiKey{name: k.Name, hash: h, scopes: slices.Clone(k.Scopes)})
	}
	return set, nil
}

// Run keeps the credentials fresh until ctx ends; it blocks until then,
// and returns once its loops have stopped. Call it once. It runs two
// independent loops, each in its own goroutine:
//
//   - With an API key file, every APIKeysReloadInterval it reads the file
//     and, when the content differs (by SHA-256, not modification time)
//     from the content last tried, parses and validates it whole and swaps
//     in the new keys at once: a removed key is refused, an added one
//     accepted, from the next request on.
//   - With a JWKS, every RefreshInterval it refetches the URL, or rereads
//     the file and uses it if it changed.
//
// Authenticate never waits for either loop (except for an unknown kid,
// see Authenticate). A file that cannot be read or parsed, or a failed
// JWKS refresh, keeps the previous keys in use; it is logged at Warn
// (never a key, hash or token) and counted. Broken key file content is
// counted once and not retried until the file changes again. With nothing
// to refresh, or on a nil *Authenticator, Run just waits for ctx.
func (a *Authenticator) Run(ctx context.Context) {
	if a == nil {
		<-ctx.Done()
		return
	}
	var wg sync.WaitGroup
	if a.file != nil {
		wg.Go(func() { a.runAPIKeyFile(ctx) })
	}
	if a.jwt != nil {
		wg.Go(func() { a.jwt.run(ctx) })
	}
	<-ctx.Done()
	wg.Wait()
}

// runAPIKeyFile checks the key file every interval until ctx ends.
func (a *Authenticator) runAPIKeyFile(ctx context.Context) {
	t := time.NewTicker(a.file.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.reloadAPIKeys()
		}
	}
}

// reloadAPIKeys reads the key file and, if its content differs from the
// content last tried, parses and validates it and swaps the key set. A
// changed file is counted as an ok or error reload; an unchanged one is
// not counted. On error the previous keys stay in use.
func (a *Authenticator) reloadAPIKeys() {
	f := a.file
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := readAPIKeyFile(f.path)
	digest := sha256.Sum256(b)
	if err != nil {
		// A lasting read error is reported once, like broken content.
		digest = sha256.Sum256([]byte("error\x00" + err.Error()))
	}
	if digest == f.digest {
		return
	}
	f.digest = digest
	var set *apiKeySet
	if err == nil {
		var keys []APIKey
		if keys, err = parseAPIKeyFile(f.path, b); err == nil {
			if set, err = a.keySet(keys); err != nil {
				err = fmt.Errorf("api keys: %s: %w", f.path, err)
			}
		}
	}
	a.m.apiKeysReloaded(err)
	if stale := err != nil; stale != f.stale {
		f.stale = stale
		a.m.staleKeyFile(stale)
	}
	if err != nil {
		// The errors name the file, line and key, never a hash.
		a.log.Warn("auth: api key file reload failed, keeping the previous keys", "file", f.path, "err", err)
		return
	}
	old := a.keys.Swap(set)
	a.m.addAPIKeys(len(set.keys) - len(old.keys))
	added, removed, changed := old.diff(set)
	a.log.Info("auth: api key file reloaded", "file", f.path, "keys", len(set.keys),
		"added", added, "removed", removed, "changed", changed)
}

// diff names the keys of next that s lacks (added), the keys of s that
// next lacks (removed), and those in both whose hash or scopes differ
// (changed). Names only: hashes are never logged.
func (s *apiKeySet) diff(next *apiKeySet) (added, removed, changed []string) {
	byName := make(map[string]*apiKey, len(s.keys))
	for i := range s.keys {
		byName[s.keys[i].name] = &s.keys[i]
	}
	for i := range next.keys {
		k := &next.keys[i]
		prev, ok := byName[k.name]
		switch {
		case !ok:
			added = append(added, k.name)
		case prev.hash != k.hash || !slices.Equal(prev.scopes, k.scopes):
			changed = append(changed, k.name)
		}
		delete(byName, k.name)
	}
	for i := range s.keys {
		if _, ok := byName[s.keys[i].name]; ok {
			removed = append(removed, s.keys[i].name)
		}
	}
	return added, removed, changed
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

// identify finds who token belongs to: an API key accepted now, else a JWT.
func (a *Authenticator) identify(ctx context.Context, token string) (Principal, error) {
	set := a.keys.Load()
	if k := set.match(token); k != nil {
		return Principal{Name: k.name, Scopes: slices.Clone(k.scopes), Kind: KindAPIKey}, nil
	}
	if a.jwt != nil && (len(set.keys) == 0 || strings.Count(token, ".") == 2) {
		return a.jwt.verify(ctx, token)
	}
	return Principal{}, fail(Invalid, "unknown API key")
}

// match compares token's hash with every hash of the set in constant
// time, without stopping at a match.
func (s *apiKeySet) match(token string) *apiKey {
	if len(s.keys) == 0 {
		return nil
	}
	h := sha256.Sum256([]byte(token))
	var found *apiKey
	for i := range s.keys {
		if subtle.ConstantTimeCompare(h[:], s.keys[i].hash[:]) == 1 {
			found = &s.keys[i]
		}
	}
	return found
}
