package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hl7gw/gateway/edge/auth/authtest"
	"github.com/hl7gw/gateway/internal/metrictest"
	"github.com/hl7gw/gateway/internal/testwait"
)

// jwksOf merges key sets into one JWKS document.
func jwksOf(t *testing.T, sets ...*authtest.KeySet) []byte {
	t.Helper()
	var all []json.RawMessage
	for _, ks := range sets {
		var doc struct{ Keys []json.RawMessage }
		if err := json.Unmarshal(ks.JWKS(), &doc); err != nil {
			t.Fatal(err)
		}
		all = append(all, doc.Keys...)
	}
	b, err := json.Marshal(map[string]any{"keys": all})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRotatedKeyWorksAfterTheRateLimitedRefetch(t *testing.T) {
	oldKeys, newKeys := authtest.NewKeySet(t, "old"), authtest.NewKeySet(t, "new")
	srv := newJWKSServer(t, oldKeys.JWKS())
	cfg := srv.config()
	cfg.MinRefetchInterval = 500 * time.Millisecond
	a, err := New(context.Background(), Config{JWT: cfg}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	newToken := "Bearer " + newKeys.Token(t, claimsAt("x"))

	// A kid the server does not know yet: one refetch, still unknown.
	_, err = a.Authenticate(ctx, newToken, "")
	wantKind(t, err, Invalid, "")
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after the first unknown kid, want 2 (start and one refetch)", n)
	}

	// The issuer rotates. Within MinRefetchInterval, no refetch happens.
	srv.serve(http.StatusOK, jwksOf(t, oldKeys, newKeys))
	lastRefetch := time.Now()
	for range 5 {
		_, err = a.Authenticate(ctx, newToken, "")
		wantKind(t, err, Invalid, "")
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want no refetch within MinRefetchInterval", n)
	}

	time.Sleep(time.Until(lastRefetch.Add(cfg.MinRefetchInterval + 50*time.Millisecond)))
	if _, err := a.Authenticate(ctx, newToken, ""); err != nil {
		t.Fatalf("new kid after the interval: %v", err)
	}
	if _, err := a.Authenticate(ctx, "Bearer "+oldKeys.TokenES256(t, claimsAt("x")), ""); err != nil {
		t.Fatalf("old kid still served: %v", err)
	}
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

func TestConcurrentUnknownKidsShareOneRefetch(t *testing.T) {
	known, unknown := authtest.NewKeySet(t, "known"), authtest.NewKeySet(t, "unknown")
	srv := newJWKSServer(t, known.JWKS())
	a, err := New(context.Background(), Config{JWT: srv.config()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	token := "Bearer " + unknown.Token(t, claimsAt("x"))
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range cap(errs) {
		wg.Go(func() {
			_, err := a.Authenticate(context.Background(), token, "")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		wantKind(t, err, Invalid, "")
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches for 32 concurrent unknown kids, want 2 (start and one refetch)", n)
	}
}

func TestBrokenJWKSResponseKeepsTheOldKeys(t *testing.T) {
	ks := authtest.NewKeySet(t, "kept")
	srv := newJWKSServer(t, ks.JWKS())
	cfg := srv.config()
	cfg.RefreshInterval = 20 * time.Millisecond
	reg := prometheus.NewRegistry()
	log, logs := newTestLogger()
	a, err := New(context.Background(), Config{JWT: cfg}, NewMetrics(reg), log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	token := "Bearer " + ks.Token(t, claimsAt("x"))
	for _, broken := range []struct {
		status int
		body   string
	}{
		{http.StatusOK, `{"keys":`},
		{http.StatusOK, `{"keys":[]}`},
		{http.StatusBadGateway, "bad gateway"},
	} {
		before := srv.fetches.Load()
		srv.serve(broken.status, []byte(broken.body))
		// Refreshes that began before serve may still succeed; two failures
		// counted after a fetch of the broken document are ours.
		testwait.For(t, 5*time.Second, "a fetch of the broken JWKS", func() bool { return srv.fetches.Load() > before })
		errsBefore := metrictest.Value(t, reg, "gateway_auth_jwks_refresh_errors_total", nil)
		testwait.For(t, 5*time.Second, "two failed refreshes", func() bool {
			return metrictest.Value(t, reg, "gateway_auth_jwks_refresh_errors_total", nil) >= errsBefore+2
		})
		if _, err := a.Authenticate(context.Background(), token, ""); err != nil {
			t.Fatalf("after serving %d %q: %v", broken.status, broken.body, err)
		}
	}
	testwait.For(t, 5*time.Second, "a warning about keeping the keys", func() bool {
		return strings.Contains(logs.String(), "keeping the previous keys")
	})
}

func TestJWKSFileIsReloadedWhenItChanges(t *testing.T) {
	first, second := authtest.NewKeySet(t, "first"), authtest.NewKeySet(t, "second")
	var path string
	a := newFileAuth(t, first, func(c *JWTConfig) {
		path = c.JWKSFile
		c.RefreshInterval = 20 * time.Millisecond
		c.MinRefetchInterval = time.Hour // only Run may reload
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	auth := func(ks *authtest.KeySet) error {
		_, err := a.Authenticate(context.Background(), "Bearer "+ks.Token(t, claimsAt("x")), "")
		return err
	}
	if err := auth(first); err != nil {
		t.Fatal(err)
	}
	// Spend the one unknown-kid reload, so only Run can bring the new key.
	wantKind(t, auth(second), Invalid, "")

	writeFile(t, path, second.JWKS())
	testwait.For(t, 5*time.Second, "the rewritten file's key accepted", func() bool { return auth(second) == nil })
	wantKind(t, auth(first), Invalid, "")

	writeFile(t, path, []byte("not json"))
	time.Sleep(100 * time.Millisecond) // several refresh intervals
	if err := auth(second); err != nil {
		t.Fatalf("after a broken file: %v", err)
	}
}

func TestRunReturnsWhenItsContextEnds(t *testing.T) {
	a := newFileAuth(t, authtest.NewKeySet(t, "run"), func(c *JWTConfig) { c.RefreshInterval = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
