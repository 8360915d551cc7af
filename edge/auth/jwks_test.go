package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hl7gw/gateway/edge/auth/authtest"
)

func TestParseJWKS(t *testing.T) {
	ks := authtest.NewKeySet(t, "parse")
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Keys []map[string]any }
	if err := json.Unmarshal(ks.JWKS(), &doc); err != nil {
		t.Fatal(err)
	}
	rsaJWK, ecJWK := doc.Keys[0], doc.Keys[1]
	edited := func(k map[string]any, kv ...any) map[string]any {
		c := map[string]any{}
		for n, v := range k {
			c[n] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	set := func(keys ...map[string]any) string {
		b, _ := json.Marshal(map[string]any{"keys": keys})
		return string(b)
	}
	offCurve := enc(make([]byte, 32))
	tests := []struct {
		name     string
		doc      string
		wantKids []string // nil: an error
		wantSkip string   // a reason among the skipped keys
	}{
		{"authtest's set has its two keys", string(ks.JWKS()), []string{"parse-rs256", "parse-es256"}, ""},
		{"a key without alg is usable", set(edited(rsaJWK, "alg", "")), []string{"parse-rs256"}, ""},
		{"an encryption key is skipped", set(edited(rsaJWK, "use", "enc"), ecJWK), []string{"parse-es256"}, "use is not sig"},
		{"key_ops without verify is skipped", set(edited(rsaJWK, "key_ops", []string{"encrypt"}), ecJWK), []string{"parse-es256"}, "key_ops lacks verify"},
		{"an RSA key for PS256 is skipped", set(edited(rsaJWK, "alg", "PS256"), ecJWK), []string{"parse-es256"}, "alg is not RS256"},
		{"a 1024-bit RSA key is skipped", set(edited(rsaJWK, "n", enc(small.N.Bytes())), ecJWK), []string{"parse-es256"}, "modulus has 1024 bits"},
		{"an even exponent is skipped", set(edited(rsaJWK, "e", "Ag"), ecJWK), []string{"parse-es256"}, "exponent"},
		{"a P-384 key is skipped", set(edited(ecJWK, "crv", "P-384", "alg", ""), rsaJWK), []string{"parse-rs256"}, "curve is not P-256"},
		{"a P-384-sized point is skipped", set(edited(ecJWK, "x", enc(p384.X.FillBytes(make([]byte, 48)))), rsaJWK), []string{"parse-rs256"}, "32 bytes"},
		{"a point off the curve is skipped", set(edited(ecJWK, "x", offCurve, "y", offCurve), rsaJWK), []string{"parse-rs256"}, "not a point of P-256"},
		{"a symmetric key is skipped", set(map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}, rsaJWK), []string{"parse-rs256"}, "kty is not RSA or EC"},
		{"a set of skipped keys is an error", set(edited(rsaJWK, "use", "enc")), nil, "use is not sig"},
		{"an empty set is an error", `{"keys":[]}`, nil, ""},
		{"two usable keys with one kid are an error", set(rsaJWK, edited(ecJWK, "kid", "parse-rs256")), nil, ""},
		{"HTML is an error", "<html>oops</html>", nil, ""},
		{"trailing data is an error", string(ks.JWKS()) + "{}", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, skipped, err := parseJWKS([]byte(tt.doc))
			if tt.wantKids == nil {
				if err == nil {
					t.Fatalf("parsed %v, want an error", s.kids())
				}
			} else if err != nil {
				t.Fatal(err)
			} else if got := strings.Join(s.kids(), ","); got != strings.Join(tt.wantKids, ",") {
				t.Fatalf("kids %s, want %v", got, tt.wantKids)
			}
			if tt.wantSkip != "" {
				found := false
				for _, k := range skipped {
					found = found || strings.Contains(k.Reason, tt.wantSkip)
				}
				if !found {
					t.Fatalf("skipped %+v, want a reason containing %q", skipped, tt.wantSkip)
				}
			}
		})
	}
}

// jwksServer serves a JWKS document that a test can change, over TLS.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int32

	mu     sync.Mutex
	status int
	body   []byte
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{status: http.StatusOK, body: body}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		status, body := s.status, s.body
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func (s *jwksServer) config() *JWTConfig {
	return &JWTConfig{
		JWKSURL: s.URL + "/.well-known/jwks.json", HTTPClient: s.Client(),
		Issuer: authtest.Issuer, Audience: authtest.Audience,
		Now: func() time.Time { return testNow },
	}
}

func TestJWKSURLIsFetchedAtStart(t *testing.T) {
	ks := authtest.NewKeySet(t, "start")
	srv := newJWKSServer(t, ks.JWKS())
	a, err := New(context.Background(), Config{JWT: srv.config()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches at start, want 1", n)
	}
	if _, err := a.Authenticate(context.Background(), "Bearer "+ks.TokenES256(t, claimsAt("x")), ""); err != nil {
		t.Fatal(err)
	}

	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name    string
		status  int
		body    []byte
		url     string // instead of srv's
		wantErr string
	}{
		{"a server error fails New", http.StatusInternalServerError, ks.JWKS(), "", "500"},
		{"a document that is not a JWKS fails New", http.StatusOK, []byte("<html>login</html>"), "", "not a JWKS"},
		{"a JWKS over 1 MiB fails New", http.StatusOK, []byte(`{"keys":[],"pad":"` + strings.Repeat("a", MaxJWKSBytes) + `"}`), "", "larger than 1 MiB"},
		{"an unreachable URL fails New", 0, nil, closed.URL, "fetch jwks"},
		{"a server that never answers fails New after the fetch timeout", 0, nil, hang.URL, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := srv.config()
			cfg.FetchTimeout = 300 * time.Millisecond
			if tt.url != "" {
				cfg.JWKSURL, cfg.HTTPClient = tt.url, nil
			} else {
				srv.serve(tt.status, tt.body)
			}
			start := time.Now()
			_, err := New(context.Background(), Config{JWT: cfg}, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.wantErr)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("New took %v", d)
			}
		})
	}
}
