// Package authtest makes JWT credentials for tests of code behind the
// gateway's authentication (edge/auth): signing keys, their JWKS and signed
// tokens.
//
// The simplest use, for an end-to-end test of a door:
//
//	jwks := authtest.WriteJWKS(t, t.TempDir())
//	cfg := auth.Config{JWT: &auth.JWTConfig{JWKSFile: jwks, Issuer: authtest.Issuer, Audience: authtest.Audience}}
//	token := authtest.Token(t, authtest.Claims("sender-1", auth.ScopeHL7Write))
//	req.Header.Set("Authorization", "Bearer "+token)
//
// The package-level functions use one key set generated once per test
// binary (RSA 2048 and EC P-256). NewKeySet makes another, for example to
// test key rotation. Nothing here is safe for production use: the keys live
// in memory and the tokens are whatever the test asks for.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Issuer and Audience are the iss and aud that Claims puts in tokens;
// configure the authenticator under test with them.
const (
	Issuer   = "https://idp.authtest.invalid"
	Audience = "hl7-gateway"
)

// KeySet is an RSA and an EC P-256 signing key with their key ids.
type KeySet struct {
	RSA      *rsa.PrivateKey
	EC       *ecdsa.PrivateKey
	RSAKeyID string // kid of RS256 tokens and of the RSA key in the JWKS
	ECKeyID  string // kid of ES256 tokens and of the EC key in the JWKS
}

// NewKeySet generates a key set whose kids are prefix+"-rs256" and
// prefix+"-es256". It fails t if key generation fails.
func NewKeySet(t testing.TB, prefix string) *KeySet {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("authtest: generate RSA key: %v", err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("authtest: generate EC key: %v", err)
	}
	return &KeySet{RSA: rk, EC: ek, RSAKeyID: prefix + "-rs256", ECKeyID: prefix + "-es256"}
}

var (
	defaultOnce sync.Once
	defaultSet  *KeySet
)

// Default returns the key set the package-level functions use, generated
// on first use (kids "authtest-rs256" and "authtest-es256").
func Default(t testing.TB) *KeySet {
	t.Helper()
	defaultOnce.Do(func() { defaultSet = NewKeySet(t, "authtest") })
	if defaultSet == nil {
		t.Fatal("authtest: the default key set could not be generated")
	}
	return defaultSet
}

// WriteJWKS writes Default's JWKS to dir/jwks.json and returns the path.
func WriteJWKS(t testing.TB, dir string) string { t.Helper(); return Default(t).WriteJWKS(t, dir) }

// Token returns an RS256 token signed by Default's RSA key.
func Token(t testing.TB, claims map[string]any) string {
	t.Helper()
	return Default(t).Token(t, claims)
}

// Claims returns claims the authenticator accepts when configured with
// Issuer and Audience: sub, iss, aud, iat now, exp in an hour and, if
// scopes are given, scope (space-separated). Change the map to test
// refusals (for example Expired).
func Claims(sub string, scopes ...string) map[string]any {
	now := time.Now()
	c := map[string]any{"sub": sub, "iss": Issuer, "aud": Audience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if len(scopes) > 0 {
		scope := scopes[0]
		for _, s := range scopes[1:] {
			scope += " " + s
		}
		c["scope"] = scope
	}
	return c
}

// Expired sets claims' exp (and iat) an hour in the past, beyond any
// leeway, and returns claims.
func Expired(claims map[string]any) map[string]any {
	past := time.Now().Add(-time.Hour)
	claims["exp"], claims["iat"] = past.Unix(), past.Add(-time.Minute).Unix()
	return claims
}

// JWKS returns the public keys as a JWKS document (RFC 7517), each with
// its kid, alg and use "sig".
func (k *KeySet) JWKS() []byte {
	enc := base64.RawURLEncoding.EncodeToString
	ecPub, err := k.EC.PublicKey.Bytes() // 0x04 || x || y
	if err != nil {
		panic("authtest: encode EC key: " + err.Error())
	}
	doc := map[string]any{"keys": []map[string]any{
		{"kty": "RSA", "kid": k.RSAKeyID, "alg": "RS256", "use": "sig",
			"n": enc(k.RSA.N.Bytes()), "e": enc(big.NewInt(int64(k.RSA.E)).Bytes())},
		{"kty": "EC", "kid": k.ECKeyID, "alg": "ES256", "use": "sig", "crv": "P-256",
			"x": enc(ecPub[1:33]), "y": enc(ecPub[33:])},
	}}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("authtest: marshal JWKS: " + err.Error())
	}
	return b
}

// WriteJWKS writes k's JWKS to dir/jwks.json (replacing it) and returns
// the path.
func (k *KeySet) WriteJWKS(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(p, k.JWKS(), 0o600); err != nil {
		t.Fatalf("authtest: write JWKS: %v", err)
	}
	return p
}

// Token returns an RS256 token with kid RSAKeyID and claims.
func (k *KeySet) Token(t testing.TB, claims map[string]any) string {
	t.Helper()
	return k.Sign(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": k.RSAKeyID}, claims)
}

// TokenES256 returns an ES256 token with kid ECKeyID and claims.
func (k *KeySet) TokenES256(t testing.TB, claims map[string]any) string {
	t.Helper()
	return k.Sign(t, map[string]any{"alg": "ES256", "typ": "JWT", "kid": k.ECKeyID}, claims)
}

// Sign returns a compact JWS of claims with header as given (so a test can
// drop or change the kid). header["alg"] picks the key: "RS256" signs with
// RSA, "ES256" with EC (64-byte r||s); any other alg fails t.
func (k *KeySet) Sign(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	hb, err1 := json.Marshal(header)
	cb, err2 := json.Marshal(claims)
	if err1 != nil || err2 != nil {
		t.Fatalf("authtest: marshal token: %v %v", err1, err2)
	}
	enc := base64.RawURLEncoding.EncodeToString
	input := enc(hb) + "." + enc(cb)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch header["alg"] {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.RSA, crypto.SHA256, digest[:])
	case "ES256":
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k.EC, digest[:])
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	default:
		t.Fatalf("authtest: cannot sign alg %v", header["alg"])
	}
	if err != nil {
		t.Fatalf("authtest: sign: %v", err)
	}
	return input + "." + enc(sig)
}
