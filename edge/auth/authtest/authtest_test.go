package authtest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hl7gw/gateway/edge/auth"
	"github.com/hl7gw/gateway/edge/auth/authtest"
)

// The package's promise: its JWKS and tokens are what edge/auth accepts,
// and Expired makes a token it refuses as expired.
func TestTokensVerifyAgainstTheWrittenJWKS(t *testing.T) {
	ctx := context.Background()
	a, err := auth.New(ctx, auth.Config{JWT: &auth.JWTConfig{
		JWKSFile: authtest.WriteJWKS(t, t.TempDir()), Issuer: authtest.Issuer, Audience: authtest.Audience,
	}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims := authtest.Claims("sender-1", auth.ScopeHL7Write, auth.ScopeFHIRWrite)
	for name, token := range map[string]string{
		"Token":      authtest.Token(t, claims),
		"TokenES256": authtest.Default(t).TokenES256(t, claims),
	} {
		p, err := a.Authenticate(ctx, "Bearer "+token, auth.ScopeFHIRWrite)
		if err != nil || p.Name != "sender-1" || !p.HasScope(auth.ScopeHL7Write) {
			t.Errorf("%s: %+v, %v", name, p, err)
		}
	}
	_, err = a.Authenticate(ctx, "Bearer "+authtest.Token(t, authtest.Expired(claims)), "")
	if !errors.Is(err, &auth.Error{Kind: auth.Expired}) {
		t.Errorf("Expired token: %v, want an Expired error", err)
	}
	other := authtest.NewKeySet(t, "other")
	_, err = a.Authenticate(ctx, "Bearer "+other.Token(t, authtest.Claims("sender-1")), "")
	if !errors.Is(err, &auth.Error{Kind: auth.Invalid}) {
		t.Errorf("another key set's token: %v, want Invalid", err)
	}
}
