package auth

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/edge/auth/authtest"
	"github.com/hl7gw/gateway/internal/logbuf"
)

// testNow is the fixed clock of the JWT unit tests.
var testNow = time.Unix(1_800_000_000, 0)

// claimsAt are valid claims for the fixed clock and authtest's issuer and
// audience.
func claimsAt(sub string) map[string]any {
	return map[string]any{
		"sub": sub, "iss": authtest.Issuer, "aud": authtest.Audience,
		"iat": testNow.Add(-time.Minute).Unix(), "exp": testNow.Add(time.Hour).Unix(),
	}
}

// newFileAuth is an Authenticator reading ks's JWKS from a file, with the
// fixed clock; edit changes the JWT configuration first.
func newFileAuth(t testing.TB, ks *authtest.KeySet, edit func(*JWTConfig)) *Authenticator {
	t.Helper()
	jc := &JWTConfig{
		JWKSFile: ks.WriteJWKS(t, t.TempDir()),
		Issuer:   authtest.Issuer,
		Audience: authtest.Audience,
		Now:      func() time.Time { return testNow },
	}
	if edit != nil {
		edit(jc)
	}
	a, err := New(context.Background(), Config{JWT: jc}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// wantKind fails t unless err is an *Error of kind k whose message does not
// contain secret.
func wantKind(t *testing.T, err error, k Kind, secret string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *auth.Error of kind %v", err, err, k)
	}
	if e.Kind != k {
		t.Fatalf("kind %v (%q), want %v", e.Kind, e.Msg, k)
	}
	if secret != "" && strings.Contains(e.Msg, secret) {
		t.Fatalf("message %q echoes the credential", e.Msg)
	}
}

func newTestLogger() (*slog.Logger, *logbuf.Buffer) {
	b := &logbuf.Buffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// writeFile replaces path's content, failing t on error.
func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
