package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/edge/auth/authtest"
)

// FuzzParseJWT feeds arbitrary tokens to the parser and the whole
// verifier. Neither may panic; the parser's results must be consistent; a
// refusal is always an Invalid or Expired *Error that does not echo the
// token; and only tokens whose header and payload were signed here may be
// accepted. Seeds: testdata/fuzz/FuzzParseJWT (malformed and refused
// shapes) and tokens signed at start (every claim form).
func FuzzParseJWT(f *testing.F) {
	ks := authtest.NewKeySet(f, "fuzz")
	a := newFileAuth(f, ks, func(c *JWTConfig) { c.MinRefetchInterval = time.Hour })
	signed := map[string]bool{}
	for _, edit := range []func(map[string]any){
		func(map[string]any) {},
		func(c map[string]any) {
			c["aud"] = []string{"x", authtest.Audience}
			c["scope"] = "hl7:write fhir:write"
		},
		func(c map[string]any) { c["scp"] = []string{"hl7:write"}; c["nbf"] = float64(testNow.Unix()) - 0.25 },
		func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() },
		func(c map[string]any) { c["aud"] = map[string]any{"nested": []any{1, 2}} },
	} {
		c := claimsAt("fuzz")
		edit(c)
		for _, tok := range []string{ks.Token(f, c), ks.TokenES256(f, c)} {
			signed[tok[:strings.LastIndex(tok, ".")]] = true
			f.Add(tok)
		}
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, perr := parseJWT(token)
		if perr == nil {
			if p.header.Alg != algRS256 && p.header.Alg != algES256 {
				t.Fatalf("parsed alg %q", p.header.Alg)
			}
			if p.header.Alg == algES256 && len(p.signature) != es256SigBytes {
				t.Fatalf("ES256 signature of %d bytes", len(p.signature))
			}
			if !strings.HasPrefix(token, p.signingInput+".") {
				t.Fatalf("signing input %q is not the token's prefix", p.signingInput)
			}
		}
		pr, err := a.jwt.verify(context.Background(), token)
		if err == nil {
			if perr != nil || !signed[p.signingInput] {
				t.Fatalf("accepted a token never signed here: %q", token)
			}
			if pr.Name != "fuzz" || pr.Kind != KindJWT {
				t.Fatalf("principal %+v", pr)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || (e.Kind != Invalid && e.Kind != Expired) {
			t.Fatalf("refusal %v (%T)", err, err)
		}
		if len(token) >= 8 && strings.Contains(e.Msg, token) {
			t.Fatalf("message %q echoes the token", e.Msg)
		}
	})
}
