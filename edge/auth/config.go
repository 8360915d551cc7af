package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Scopes the gateway's routes require.
const (
	ScopeHL7Write  = "hl7:write"     // SubmitHL7, StreamHL7, POST /v1/hl7
	ScopeFHIRWrite = "fhir:write"    // SubmitFHIR, /fhir
	ScopeAdmin     = "gateway:admin" // changing connectors (pause, resume, restart)
)

// Defaults of Config and JWTConfig.
const (
	DefaultRealm              = "gateway"
	DefaultLeeway             = 60 * time.Second
	DefaultRefreshInterval    = 5 * time.Minute
	DefaultMinRefetchInterval = 30 * time.Second
	DefaultFetchTimeout       = 10 * time.Second
	// DefaultAPIKeysReloadInterval is how often Run checks Config.APIKeysFile.
	DefaultAPIKeysReloadInterval = 30 * time.Second
)

// hashPrefix starts every stored API key hash.
const hashPrefix = "sha256:"

// Config says which credentials the gateway accepts. At least one API key,
// an API key file or a JWT configuration is needed; to turn authentication
// off, do not create an Authenticator at all (a nil *Authenticator passes
// everything).
type Config struct {
	// APIKeys are accepted for the Authenticator's lifetime.
	APIKeys []APIKey
	// APIKeysFile is an API key file (see LoadAPIKeyFile) whose keys are
	// accepted as well. New reads it; Run re-reads it every
	// APIKeysReloadInterval and, when its content changed and is valid,
	// replaces the file's keys. Names and hashes must be unique across
	// APIKeys and the file.
	APIKeysFile string
	// APIKeysReloadInterval is how often Run checks APIKeysFile;
	// DefaultAPIKeysReloadInterval if 0.
	APIKeysReloadInterval time.Duration
	JWT                   *JWTConfig
	// Realm is the realm of WWW-Authenticate challenges; DefaultRealm if empty.
	Realm string
}

// APIKey is one static key, stored only as its hash.
type APIKey struct {
	// Name identifies the key in logs and as the principal's name.
	Name string
	// Hash is HashKey of the key: "sha256:" and 64 hex digits.
	Hash string
	// Scopes granted to requests bearing this key.
	Scopes []string
}

// JWTConfig accepts JWTs signed (RS256 or ES256) by a key of a JWKS.
// Exactly one of JWKSFile and JWKSURL is set.
type JWTConfig struct {
	JWKSFile string // a JWKS (RFC 7517) file, reloaded when it changes
	JWKSURL  string // an http(s) URL serving a JWKS
	Issuer   string // required; tokens' iss must equal it
	Audience string // required; tokens' aud must contain it
	// Leeway tolerates clock skew on exp, nbf and iat; DefaultLeeway if 0
	// (1ns for practically none).
	Leeway time.Duration
	// RefreshInterval is how often Run refetches the URL or checks the
	// file; DefaultRefreshInterval if 0.
	RefreshInterval time.Duration
	// MinRefetchInterval bounds the refetches a token with an unknown kid
	// triggers: at most one per interval. DefaultMinRefetchInterval if 0.
	MinRefetchInterval time.Duration
	// FetchTimeout bounds one fetch of the URL; DefaultFetchTimeout if 0.
	FetchTimeout time.Duration
	// HTTPClient fetches JWKSURL; http.DefaultClient if nil.
	HTTPClient *http.Client
	// Now is the clock for exp, nbf and iat; time.Now if nil. For tests.
	Now func() time.Time
}

// HashKey returns the form in which an API key is configured:
// "sha256:" followed by the hex SHA-256 of the key's bytes.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// parseHash decodes a "sha256:<64 hex>" hash. Its errors never include
// the value.
func parseHash(s string) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	hexPart, ok := strings.CutPrefix(s, hashPrefix)
	if !ok {
		return h, errors.New(`hash must start with "sha256:"`)
	}
	if len(hexPart) != 2*sha256.Size {
		return h, fmt.Errorf("hash must have %d hex digits after sha256:, has %d", 2*sha256.Size, len(hexPart))
	}
	if _, err := hex.Decode(h[:], []byte(hexPart)); err != nil {
		return h, errors.New("hash has a character that is not a hex digit")
	}
	return h, nil
}

// Validate checks the configuration without touching the network or the
// file system. Errors name the offending entry, never a secret.
func (c Config) Validate() error {
	if len(c.APIKeys) == 0 && c.APIKeysFile == "" && c.JWT == nil {
		return errors.New("auth: no API keys and no JWT configuration")
	}
	if strings.ContainsAny(c.Realm, "\"\\\r\n") {
		return errors.New("auth: realm must not contain quotes, backslashes or line breaks")
	}
	if err := validateAPIKeys(c.APIKeys); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	if c.APIKeysFile != "" && c.apiKeysReloadInterval() <= 0 {
		return errors.New("auth: api keys reload interval must be positive")
	}
	if c.JWT != nil {
		if err := c.JWT.validate(); err != nil {
			return fmt.Errorf("auth: jwt: %w", err)
		}
	}
	return nil
}

// validateAPIKeys checks each key and that names and hashes are unique.
// Errors name the key, never its hash.
func validateAPIKeys(keys []APIKey) error {
	names := map[string]bool{}
	hashes := map[[sha256.Size]byte]string{}
	for i, k := range keys {
		if k.Name == "" {
			return fmt.Errorf("api key #%d: name is empty", i+1)
		}
		if names[k.Name] {
			return fmt.Errorf("api key %q: name used twice", k.Name)
		}
		names[k.Name] = true
		h, err := parseHash(k.Hash)
		if err != nil {
			return fmt.Errorf("api key %q: %w", k.Name, err)
		}
		if other, dup := hashes[h]; dup {
			return fmt.Errorf("api key %q: same hash as api key %q", k.Name, other)
		}
		hashes[h] = k.Name
		if err := validScopes(k.Scopes); err != nil {
			return fmt.Errorf("api key %q: %w", k.Name, err)
		}
	}
	return nil
}

// apiKeysReloadInterval is APIKeysReloadInterval with its default.
func (c Config) apiKeysReloadInterval() time.Duration {
	if c.APIKeysReloadInterval == 0 {
		return DefaultAPIKeysReloadInterval
	}
	return c.APIKeysReloadInterval
}

func validScopes(scopes []string) error {
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return fmt.Errorf("scope %q is empty or has a space, quote or backslash", s)
		}
	}
	return nil
}

func (j *JWTConfig) validate() error {
	switch {
	case j.JWKSFile == "" && j.JWKSURL == "":
		return errors.New("one of jwks file and jwks url is required")
	case j.JWKSFile != "" && j.JWKSURL != "":
		return errors.New("jwks file and jwks url are exclusive")
	case j.Issuer == "":
		return errors.New("issuer is required")
	case j.Audience == "":
		return errors.New("audience is required")
	case j.Leeway < 0 || j.RefreshInterval < 0 || j.MinRefetchInterval < 0 || j.FetchTimeout < 0:
		return errors.New("durations must not be negative")
	}
	if j.JWKSURL != "" {
		u, err := url.Parse(j.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("jwks url must be an absolute http or https URL")
		}
	}
	return nil
}

// withDefaults returns a copy of j with zero values replaced by defaults.
func (j JWTConfig) withDefaults() JWTConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&j.Leeway, DefaultLeeway)
	def(&j.RefreshInterval, DefaultRefreshInterval)
	def(&j.MinRefetchInterval, DefaultMinRefetchInterval)
	def(&j.FetchTimeout, DefaultFetchTimeout)
	if j.HTTPClient == nil {
		j.HTTPClient = http.DefaultClient
	}
	if j.Now == nil {
		j.Now = time.Now
	}
	return j
}
