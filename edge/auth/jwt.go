package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// MaxTokenBytes bounds a bearer token; longer ones are refused before any
// decoding.
const MaxTokenBytes = 16 << 10

// The signature algorithms accepted. Everything else (none, HS*, PS*,
// ES384, ...) is refused.
const (
	algRS256 = "RS256"
	algES256 = "ES256"
)

// es256SigBytes is the size of an ES256 signature: r and s, 32 bytes each
// (RFC 7518 3.4), not ASN.1 DER.
const es256SigBytes = 64

var b64 = base64.RawURLEncoding.Strict()

// jwtHeader is the JOSE header fields the gateway reads.
type jwtHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// parsedJWT is a compact JWS checked and parsed, not yet verified.
type parsedJWT struct {
	header       jwtHeader
	jws          *jose.JSONWebSignature
	signature    []byte // decoded, for the ES256 length check
	signingInput string // header.payload, as received
}

// allowedAlgs are the algorithms go-jose may parse; parseJWT refuses the
// others first, with its own message.
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// parseJWT checks a compact JWS and parses it with go-jose. go-jose does
// the JWS parsing and, in verifySignature, the signature check; the
// checks here are the gateway's own, stricter than go-jose's: the size
// bound, exactly three segments of strict (unpadded, canonical) base64url,
// a header that is one JSON object, no "crit" at all (go-jose would accept
// crit ["b64"] with an unencoded payload), alg RS256 or ES256, and an
// ES256 signature of exactly 64 bytes. Nothing in the result is trusted
// until verified.
func parseJWT(token string) (*parsedJWT, error) {
	if len(token) > MaxTokenBytes {
		return nil, fail(Invalid, "token too long")
	}
	h, rest, ok1 := strings.Cut(token, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s, ".") {
		return nil, fail(Invalid, "malformed token: not a compact JWS")
	}
	hb, err1 := b64.DecodeString(h)
	_, err2 := b64.DecodeString(p)
	sb, err3 := b64.DecodeString(s)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fail(Invalid, "malformed token: bad base64url")
	}
	t := &parsedJWT{signature: sb, signingInput: token[:len(h)+1+len(p)]}
	if err := strictUnmarshal(hb, &t.header); err != nil {
		return nil, fail(Invalid, "malformed token: bad header")
	}
	if len(t.header.Crit) > 0 {
		return nil, fail(Invalid, "token header has critical extensions")
	}
	switch t.header.Alg {
	case algRS256:
	case algES256:
		if len(sb) != es256SigBytes {
			return nil, fail(Invalid, "malformed token: ES256 signature must be 64 bytes")
		}
	default:
		return nil, fail(Invalid, "token algorithm must be RS256 or ES256")
	}
	jws, err := jose.ParseSignedCompact(token, allowedAlgs)
	if err != nil || len(jws.Signatures) != 1 || jws.Signatures[0].Header.Algorithm != t.header.Alg ||
		jws.Signatures[0].Header.KeyID != t.header.Kid {
		return nil, fail(Invalid, "malformed token: bad header")
	}
	t.jws = jws
	return t, nil
}

// strictUnmarshal decodes one JSON object and nothing after it.
func strictUnmarshal(b []byte, v any) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}

// verifySignature checks t's signature with k, which must suit t's alg
// (key type, and the key's own alg when it declares one), and returns the
// payload it signs.
func verifySignature(t *parsedJWT, k *jwk) ([]byte, error) {
	if !k.suits(t.header.Alg) {
		return nil, fail(Invalid, "token algorithm does not match its signing key")
	}
	payload, err := t.jws.Verify(k.pub)
	if err != nil {
		return nil, fail(Invalid, "bad token signature")
	}
	return payload, nil
}

// claims are the registered and scope claims the gateway reads.
type claims struct {
	Iss   string       `json:"iss"`
	Sub   string       `json:"sub"`
	Aud   stringList   `json:"aud"`
	Exp   *numericDate `json:"exp"`
	Nbf   *numericDate `json:"nbf"`
	Iat   *numericDate `json:"iat"`
	Scope string       `json:"scope"`
	Scp   stringList   `json:"scp"`
}

// stringList is a JSON string or array of strings (aud, scp).
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or an array of strings")
	}
	*l = many
	return nil
}

// numericDate is a JWT NumericDate: seconds since the epoch, possibly
// fractional, between 1970 and 9999.
type numericDate struct{ time.Time }

const maxNumericDate = 253402300799 // 9999-12-31T23:59:59Z

func (d *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f > maxNumericDate {
		return errors.New("want seconds since the epoch")
	}
	sec := int64(f)
	d.Time = time.Unix(sec, int64((f-float64(sec))*1e9))
	return nil
}

// checkClaims decodes verified claims and checks times, issuer and audience
// against v's configuration, returning the principal.
func (v *jwtVerifier) checkClaims(payload []byte) (Principal, error) {
	var c claims
	if err := strictUnmarshal(payload, &c); err != nil {
		return Principal{}, fail(Invalid, "malformed token: bad claims")
	}
	now := v.cfg.Now()
	lw := v.cfg.Leeway
	switch {
	case c.Exp == nil:
		return Principal{}, fail(Invalid, "token has no exp")
	case !now.Before(c.Exp.Add(lw)):
		return Principal{}, fail(Expired, "token expired")
	case c.Nbf != nil && now.Add(lw).Before(c.Nbf.Time):
		return Principal{}, fail(Invalid, "token not valid yet")
	case c.Iat != nil && now.Add(lw).Before(c.Iat.Time):
		return Principal{}, fail(Invalid, "token issued in the future")
	case c.Iss != v.cfg.Issuer:
		return Principal{}, fail(Invalid, "wrong token issuer")
	case !slices.Contains(c.Aud, v.cfg.Audience):
		return Principal{}, fail(Invalid, "wrong token audience")
	case c.Sub == "":
		return Principal{}, fail(Invalid, "token has no sub")
	}
	return Principal{Name: c.Sub, Scopes: c.scopes(), Kind: KindJWT}, nil
}

// scopes merges the space-separated scope claim and the scp claim (a
// string, itself possibly space-separated, or an array), without duplicates.
func (c *claims) scopes() []string {
	var out []string
	add := func(s string) {
		for _, f := range strings.Fields(s) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	add(c.Scope)
	for _, s := range c.Scp {
		add(s)
	}
	return out
}

// verify checks a bearer token as a JWT: structure, algorithm, signature
// with the key its kid names (refetching the JWKS for an unknown kid, see
// refetchFor), then the claims.
func (v *jwtVerifier) verify(ctx context.Context, token string) (Principal, error) {
	t, err := parseJWT(token)
	if err != nil {
		return Principal{}, err
	}
	k, ok := v.keys.Load().lookup(t.header.Kid)
	if !ok && t.header.Kid != "" {
		k, ok = v.refetchFor(ctx, t.header.Kid)
	}
	if !ok {
		return Principal{}, fail(Invalid, "unknown token signing key")
	}
	payload, err := verifySignature(t, k)
	if err != nil {
		return Principal{}, err
	}
	return v.checkClaims(payload)
}
