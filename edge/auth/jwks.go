package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
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

// rawJWK is a JWK as it appears in the document (RFC 7517, RFC 7518 6).
type rawJWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KeyOps []string `json:"key_ops"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
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
		k, err := r.usable()
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

// usable turns r into a verification key, or says why it is not one.
func (r *rawJWK) usable() (*jwk, error) {
	if r.Use != "" && r.Use != "sig" {
		return nil, errors.New("use is not sig")
	}
	if len(r.KeyOps) > 0 && !slices.Contains(r.KeyOps, "verify") {
		return nil, errors.New("key_ops lacks verify")
	}
	k := &jwk{kid: r.Kid, kty: r.Kty, alg: r.Alg}
	var err error
	switch r.Kty {
	case "RSA":
		if r.Alg != "" && r.Alg != algRS256 {
			return nil, errors.New("alg is not RS256")
		}
		k.pub, err = rsaKey(r.N, r.E)
	case "EC":
		if r.Alg != "" && r.Alg != algES256 {
			return nil, errors.New("alg is not ES256")
		}
		if r.Crv != "P-256" {
			return nil, errors.New("curve is not P-256")
		}
		k.pub, err = p256Key(r.X, r.Y)
	default:
		return nil, errors.New("kty is not RSA or EC")
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

func rsaKey(n64, e64 string) (*rsa.PublicKey, error) {
	nb, err1 := b64.DecodeString(n64)
	eb, err2 := b64.DecodeString(e64)
	if err1 != nil || err2 != nil {
		return nil, errors.New("n or e is not base64url")
	}
	n := new(big.Int).SetBytes(nb)
	if n.BitLen() < minRSABits || n.BitLen() > maxRSABits {
		return nil, fmt.Errorf("modulus has %d bits, want %d to %d", n.BitLen(), minRSABits, maxRSABits)
	}
	e := new(big.Int).SetBytes(eb)
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
		return nil, errors.New("exponent must be odd, at least 3 and below 2^31")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

func p256Key(x64, y64 string) (*ecdsa.PublicKey, error) {
	x, err1 := b64.DecodeString(x64)
	y, err2 := b64.DecodeString(y64)
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("x and y must be 32 bytes of base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, errors.New("x and y are not a point of P-256")
	}
	return pub, nil
}
