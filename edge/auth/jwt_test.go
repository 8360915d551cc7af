package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/edge/auth/authtest"
)

var enc = base64.RawURLEncoding.EncodeToString

// unsigned builds header.payload with the given signature bytes.
func unsigned(t *testing.T, header, claims map[string]any, sig []byte) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	return enc(hb) + "." + enc(cb) + "." + enc(sig)
}

func TestJWTVerification(t *testing.T) {
	ks := authtest.NewKeySet(t, "unit")
	a := newFileAuth(t, ks, nil)
	with := func(edit func(map[string]any)) map[string]any {
		c := claimsAt("sender-1")
		edit(c)
		return c
	}
	hs256WithPublicKey := func() string {
		der, err := x509.MarshalPKIXPublicKey(&ks.RSA.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		hb, _ := json.Marshal(map[string]any{"alg": "HS256", "kid": ks.RSAKeyID})
		cb, _ := json.Marshal(claimsAt("attacker"))
		input := enc(hb) + "." + enc(cb)
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(input))
		return input + "." + enc(mac.Sum(nil))
	}
	tampered := func() string {
		good := ks.Token(t, claimsAt("sender-1"))
		parts := strings.Split(good, ".")
		cb, _ := json.Marshal(claimsAt("admin"))
		return parts[0] + "." + enc(cb) + "." + parts[2]
	}
	es256DER := func() string {
		hb, _ := json.Marshal(map[string]any{"alg": "ES256", "kid": ks.ECKeyID})
		cb, _ := json.Marshal(claimsAt("sender-1"))
		input := enc(hb) + "." + enc(cb)
		d := sha256.Sum256([]byte(input))
		sig, err := ecdsa.SignASN1(rand.Reader, ks.EC, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return input + "." + enc(sig)
	}

	tests := []struct {
		name  string
		token string
		want  Kind   // 0: accepted
		msg   string // the refusal's message
	}{
		{"a good RS256 token is accepted", ks.Token(t, claimsAt("sender-1")), 0, ""},
		{"a good ES256 token is accepted", ks.TokenES256(t, claimsAt("sender-1")), 0, ""},
		{"a token expired beyond the leeway is Expired", ks.Token(t, with(func(c map[string]any) { c["exp"] = testNow.Add(-61 * time.Second).Unix() })), Expired, "token expired"},
		{"a token expired within the leeway is accepted", ks.Token(t, with(func(c map[string]any) { c["exp"] = testNow.Add(-30 * time.Second).Unix() })), 0, ""},
		{"a fractional exp is a NumericDate", ks.Token(t, with(func(c map[string]any) { c["exp"] = float64(testNow.Unix()) + 0.5 })), 0, ""},
		{"a token without exp is refused", ks.Token(t, with(func(c map[string]any) { delete(c, "exp") })), Invalid, "token has no exp"},
		{"an exp that is a string is refused", ks.Token(t, with(func(c map[string]any) { c["exp"] = "tomorrow" })), Invalid, "malformed token: bad claims"},
		{"nbf in the future beyond the leeway is refused", ks.Token(t, with(func(c map[string]any) { c["nbf"] = testNow.Add(2 * time.Minute).Unix() })), Invalid, "token not valid yet"},
		{"nbf in the future within the leeway is accepted", ks.Token(t, with(func(c map[string]any) { c["nbf"] = testNow.Add(30 * time.Second).Unix() })), 0, ""},
		{"iat in the future beyond the leeway is refused", ks.Token(t, with(func(c map[string]any) { c["iat"] = testNow.Add(2 * time.Minute).Unix() })), Invalid, "token issued in the future"},
		{"a wrong issuer is refused", ks.Token(t, with(func(c map[string]any) { c["iss"] = "https://evil.invalid" })), Invalid, "wrong token issuer"},
		{"a missing issuer is refused", ks.Token(t, with(func(c map[string]any) { delete(c, "iss") })), Invalid, "wrong token issuer"},
		{"a wrong audience is refused", ks.Token(t, with(func(c map[string]any) { c["aud"] = "other-api" })), Invalid, "wrong token audience"},
		{"an audience array containing ours is accepted", ks.Token(t, with(func(c map[string]any) { c["aud"] = []string{"other-api", authtest.Audience} })), 0, ""},
		{"an audience array without ours is refused", ks.Token(t, with(func(c map[string]any) { c["aud"] = []string{"other-api"} })), Invalid, "wrong token audience"},
		{"a token without sub is refused", ks.Token(t, with(func(c map[string]any) { delete(c, "sub") })), Invalid, "token has no sub"},
		{"alg none is refused", unsigned(t, map[string]any{"alg": "none", "kid": ks.RSAKeyID}, claimsAt("x"), nil), Invalid, "token algorithm must be RS256 or ES256"},
		{"alg None in another case is refused", unsigned(t, map[string]any{"alg": "None"}, claimsAt("x"), nil), Invalid, "token algorithm must be RS256 or ES256"},
		{"HS256 keyed with the RSA public key is refused", hs256WithPublicKey(), Invalid, "token algorithm must be RS256 or ES256"},
		{"a tampered payload is refused", tampered(), Invalid, "bad token signature"},
		{"an unknown kid is refused", ks.Sign(t, map[string]any{"alg": "RS256", "kid": "nobody"}, claimsAt("x")), Invalid, "unknown token signing key"},
		{"RS256 naming the EC key is refused", ks.Sign(t, map[string]any{"alg": "RS256", "kid": ks.ECKeyID}, claimsAt("x")), Invalid, "token algorithm does not match its signing key"},
		{"ES256 naming the RSA key is refused", ks.Sign(t, map[string]any{"alg": "ES256", "kid": ks.RSAKeyID}, claimsAt("x")), Invalid, "token algorithm does not match its signing key"},
		{"no kid with two keys in the set is refused", ks.Sign(t, map[string]any{"alg": "RS256"}, claimsAt("x")), Invalid, "unknown token signing key"},
		{"an ASN.1 ES256 signature is refused", es256DER(), Invalid, "malformed token: ES256 signature must be 64 bytes"},
		{"a critical header extension is refused", ks.Sign(t, map[string]any{"alg": "RS256", "kid": ks.RSAKeyID, "crit": []string{"exp"}, "exp": 1}, claimsAt("x")), Invalid, "token header has critical extensions"},
		{"a token over 16 KiB is refused", ks.Token(t, with(func(c map[string]any) { c["pad"] = strings.Repeat("a", MaxTokenBytes) })), Invalid, "token too long"},
		{"two segments are refused", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0", Invalid, "malformed token: not a compact JWS"},
		{"four segments are refused", ks.Token(t, claimsAt("x")) + ".e30", Invalid, "malformed token: not a compact JWS"},
		{"padded base64 is refused", strings.Replace(ks.Token(t, claimsAt("x")), ".", "=.", 1), Invalid, "malformed token: bad base64url"},
		// Forms go-jose alone would accept.
		{"an unencoded payload (crit b64) is refused", ks.Sign(t, map[string]any{"alg": "RS256", "kid": ks.RSAKeyID, "b64": false, "crit": []string{"b64"}}, claimsAt("x")), Invalid, "token header has critical extensions"},
		{"a signature with non-zero trailing bits is refused", loosePadding(ks.Token(t, claimsAt("x"))), Invalid, "malformed token: bad base64url"},
		{"the JWS JSON serialization is refused", `{"payload":"e30","protected":"eyJhbGciOiJSUzI1NiJ9","signature":"AAAA"}`, Invalid, "malformed token: not a compact JWS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), "Bearer "+tt.token, "")
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if p.Name != "sender-1" || p.Kind != KindJWT {
					t.Fatalf("principal %+v", p)
				}
				return
			}
			wantKind(t, err, tt.want, tt.token)
			if err.Error() != tt.msg {
				t.Fatalf("refused with %q, want %q", err, tt.msg)
			}
		})
	}
}

func TestJWTWithoutKidUsesTheOnlyKey(t *testing.T) {
	ks := authtest.NewKeySet(t, "single")
	var doc struct{ Keys []json.RawMessage }
	if err := json.Unmarshal(ks.JWKS(), &doc); err != nil {
		t.Fatal(err)
	}
	one, _ := json.Marshal(map[string]any{"keys": doc.Keys[:1]}) // the RSA key only
	a := newFileAuth(t, ks, func(c *JWTConfig) { writeFile(t, c.JWKSFile, one) })

	if _, err := a.Authenticate(context.Background(), "Bearer "+ks.Sign(t, map[string]any{"alg": "RS256"}, claimsAt("x")), ""); err != nil {
		t.Fatalf("RS256 without kid against a one-key set: %v", err)
	}
	_, err := a.Authenticate(context.Background(), "Bearer "+ks.Sign(t, map[string]any{"alg": "ES256"}, claimsAt("x")), "")
	wantKind(t, err, Invalid, "")
}

func TestJWTScopesComeFromScopeAndScp(t *testing.T) {
	ks := authtest.NewKeySet(t, "scopes")
	a := newFileAuth(t, ks, nil)
	tests := []struct {
		name  string
		extra map[string]any
		want  []string
	}{
		{"scope is a space-separated string", map[string]any{"scope": "hl7:write  fhir:write"}, []string{"hl7:write", "fhir:write"}},
		{"scp may be a string", map[string]any{"scp": "hl7:write"}, []string{"hl7:write"}},
		{"scp may be an array", map[string]any{"scp": []string{"fhir:write", "gateway:admin"}}, []string{"fhir:write", "gateway:admin"}},
		{"scope and scp are merged without duplicates", map[string]any{"scope": "hl7:write", "scp": []string{"hl7:write", "fhir:write"}}, []string{"hl7:write", "fhir:write"}},
		{"no scope claim grants nothing", map[string]any{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := claimsAt("sender-1")
			for k, v := range tt.extra {
				c[k] = v
			}
			p, err := a.Authenticate(context.Background(), "Bearer "+ks.Token(t, c), "")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Scopes, tt.want) {
				t.Fatalf("scopes %q, want %q", p.Scopes, tt.want)
			}
			for _, s := range []string{ScopeHL7Write, ScopeFHIRWrite} {
				_, err := a.Authenticate(context.Background(), "Bearer "+ks.Token(t, c), s)
				if slices.Contains(tt.want, s) != (err == nil) {
					t.Fatalf("scope %s: %v with scopes %q", s, err, tt.want)
				}
				if err != nil {
					wantKind(t, err, InsufficientScope, "")
				}
			}
		})
	}
}

func TestParseJWTKeepsTheSigningInputAsReceived(t *testing.T) {
	ks := authtest.NewKeySet(t, "parse")
	tok := ks.TokenES256(t, claimsAt("x"))
	p, err := parseJWT(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.signingInput != tok[:strings.LastIndex(tok, ".")] || p.header.Alg != "ES256" || len(p.signature) != 64 {
		t.Fatalf("parsed %+v", p)
	}
}

// loosePadding sets the unused low bits of the token's last base64url
// character: the same signature bytes to a lenient decoder, a different
// token string.
func loosePadding(token string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, token[len(token)-1])
	return token[:len(token)-1] + string(alphabet[last|0x0f])
}
