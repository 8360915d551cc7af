package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
)

// MaxJWKSBytes bounds a JWKS document, file or HTTP response.
const MaxJWKSBytes = 1 << 20

// RSA moduli outside these bounds are not usable: too weak, or too costly
// to verify with.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// jwk is one usable public key of a JWKS.
type jwk struct {
	kid string
	kty string // RSA or EC
	alg string // the key's declared alg; "" if none
	pub crypto.PublicKey
}

// suits reports whether a token signed with alg may be verified with k:
// the key type must fit alg, and a key that declares its alg must declare
// this one.
func (k *jwk) suits(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch alg {
	case algRS256:
		return k.kty == "RSA"
	case algES256:
		return k.kty == "EC"
	}
	return false
}

// keySet is an immutable parsed JWKS.
type keySet struct {
	keys  []*jwk
	byKid map[string]*jwk
}

// lookup finds the key for a token's kid. A token without kid is
// accepted only when the set holds exactly one usable key.
func (s *keySet) lookup(kid string) (*jwk, bool) {
	if s == nil {
		return nil, false
	}
	if kid == "" {
		if len(s.keys) == 1 {
			return s.keys[0], true
		}
		return nil, false
	}
	k, ok := s.byKid[kid]
	return k, ok
}

func (s *keySet) kids() []string {
	out := make([]string, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k.kid)
	}
	return out
}

// rawJWK is the members of a JWK (RFC 7517, RFC 7518 6) read before
// go-jose decodes the key material.
type rawJWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
}

// skippedKey is a key of the document left out of the set, and why.
type skippedKey struct {
	Kid    string
	Reason string
}

// parseJWKS parses a JWKS document. Keys that cannot sign RS256 or ES256
// tokens (encryption keys, other types, curves or algorithms) or that are
// malformed are skipped and reported; a document that is not a JWKS, has
// no usable key or has two usable keys with the same kid is an error.
func parseJWKS(b []byte) (*keySet, []skippedKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := strictUnmarshal(b, &doc); err != nil {
		return nil, nil, fmt.Errorf("not a JWKS: %w", err)
	}
	set := &keySet{byKid: map[string]*jwk{}}
	var skipped []skippedKey
	for _, raw := range doc.Keys {
		var r rawJWK
		if err := json.Unmarshal(raw, &r); err != nil {
			skipped = append(skipped, skippedKey{Reason: "not a JWK object"})
			continue
		}
		k, err := r.usable(raw)
		if err != nil {
			skipped = append(skipped, skippedKey{Kid: r.Kid, Reason: err.Error()})
			continue
		}
		if k.kid != "" {
			if _, dup := set.byKid[k.kid]; dup {
				return nil, skipped, fmt.Errorf("two usable keys have kid %q", k.kid)
			}
			set.byKid[k.kid] = k
		}
		set.keys = append(set.keys, k)
	}
	if len(set.keys) == 0 {
		return nil, skipped, errors.New("no usable RS256 or ES256 key")
	}
	return set, skipped, nil
}

// usable turns r, read from raw, into a verification key, or says why it
// is not one. go-jose decodes the key material (base64url, the EC point on
// its curve); the gateway's own rules come before and after: use and
// key_ops must allow verification, RSA keys declare RS256 or nothing and
// have a 2048- to 8192-bit modulus and an odd exponent from 3 to 2^31-1,
// EC keys declare ES256 or nothing and lie on P-256.
func (r *rawJWK) usable(raw []byte) (*jwk, error) {
	if r.Use != "" && r.Use != "sig" {
		return nil, errors.New("use is not sig")
	}
	if len(r.KeyOps) > 0 && !slices.Contains(r.KeyOps, "verify") {
		return nil, errors.New("key_ops lacks verify")
	}
	switch r.Kty {
	case "RSA":
		if r.Alg != "" && r.Alg != algRS256 {
			return nil, errors.New("alg is not RS256")
		}
	case "EC":
		if r.Alg != "" && r.Alg != algES256 {
			return nil, errors.New("alg is not ES256")
		}
		if r.Crv != "P-256" {
			return nil, errors.New("curve is not P-256")
		}
	default:
		return nil, errors.New("kty is not RSA or EC")
	}
	var jk jose.JSONWebKey
	if err := jk.UnmarshalJSON(raw); err != nil {
		if r.Kty == "EC" {
			return nil, fmt.Errorf("x and y are not a point of P-256 in 32 bytes each: %w", err)
		}
		return nil, fmt.Errorf("n or e is not a base64url RSA public key: %w", err)
	}
	k := &jwk{kid: r.Kid, kty: r.Kty, alg: r.Alg}
	switch pub := publicKey(jk.Key).(type) {
	case *rsa.PublicKey:
		if r.Kty != "RSA" {
			return nil, errors.New("kty is not RSA or EC")
		}
		if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return nil, fmt.Errorf("modulus has %d bits, want %d to %d", bits, minRSABits, maxRSABits)
		}
		if pub.E < 3 || pub.E > 1<<31-1 || pub.E%2 == 0 {
			return nil, errors.New("exponent must be odd, at least 3 and below 2^31")
		}
		k.pub = pub
	case *ecdsa.PublicKey:
		if r.Kty != "EC" || pub.Curve != elliptic.P256() {
			return nil, errors.New("curve is not P-256")
		}
		k.pub = pub
	default:
		return nil, errors.New("kty is not RSA or EC")
	}
	return k, nil
}

// publicKey is the public half of a key go-jose decoded (a JWKS may carry
// private members; only the public key is used).
func publicKey(key any) any {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	}
	return key
}
