package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// jwtVerifier verifies JWTs against a JWKS it keeps fresh. The key set is
// swapped atomically, so verification never waits for a refresh, except a
// token with an unknown kid, which may wait for the one refetch it triggers.
type jwtVerifier struct {
	cfg  JWTConfig // with defaults
	load func(ctx context.Context) ([]byte, error)
	m    *Metrics
	log  *slog.Logger

	keys atomic.Pointer[keySet]

	// sem serialises refreshes; a waiter can give up when its context ends.
	sem chan struct{}
	// Guarded by sem.
	digest      [sha256.Size]byte // of the document the keys came from
	lastRefetch time.Time         // last refetch for an unknown kid (wall clock)
}

// newJWTVerifier loads the JWKS once; failing that, it returns the error,
// so a misconfigured gateway does not start.
func newJWTVerifier(ctx context.Context, cfg JWTConfig, m *Metrics, log *slog.Logger) (*jwtVerifier, error) {
	v := &jwtVerifier{cfg: cfg.withDefaults(), m: m, log: log, sem: make(chan struct{}, 1)}
	if v.cfg.JWKSURL != "" {
		v.load = v.fetchURL
	} else {
		v.load = v.readFile
	}
	v.sem <- struct{}{}
	defer func() { <-v.sem }()
	if err := v.refresh(ctx, "start"); err != nil {
		return nil, err
	}
	return v, nil
}

// refresh loads and parses the JWKS and, if it changed and is usable,
// replaces the key set. On any error the previous keys stay in use. The
// caller holds v.sem.
func (v *jwtVerifier) refresh(ctx context.Context, why string) error {
	b, err := v.load(ctx)
	if err == nil {
		digest := sha256.Sum256(b)
		if digest == v.digest && v.keys.Load() != nil {
			return nil
		}
		var set *keySet
		var skipped []skippedKey
		set, skipped, err = parseJWKS(b)
		for _, s := range skipped {
			v.log.Warn("auth: jwks key skipped", "kid", s.Kid, "reason", s.Reason)
		}
		if err == nil {
			v.keys.Store(set)
			v.digest = digest
			v.log.Info("auth: jwks loaded", "why", why, "kids", set.kids())
			return nil
		}
		err = fmt.Errorf("parse jwks: %w", err)
	}
	v.m.jwksError()
	if v.keys.Load() != nil {
		v.log.Warn("auth: jwks refresh failed, keeping the previous keys", "why", why, "err", err)
	}
	return err
}

// refetchFor is called for a token whose kid is not in the set: unless a
// refetch for an unknown kid happened less than MinRefetchInterval ago, it
// refreshes the set, then looks kid up again. It blocks until the refresh
// in progress, if any, and its own are done, or ctx ends.
func (v *jwtVerifier) refetchFor(ctx context.Context, kid string) (*jwk, bool) {
	select {
	case v.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, false
	}
	defer func() { <-v.sem }()
	if k, ok := v.keys.Load().lookup(kid); ok {
		return k, true // brought by the refresh we waited for
	}
	now := time.Now()
	if !v.lastRefetch.IsZero() && now.Sub(v.lastRefetch) < v.cfg.MinRefetchInterval {
		return nil, false
	}
	v.lastRefetch = now
	// The refetch serves every later token too: it is not cut short when
	// this request goes away; FetchTimeout bounds it.
	_ = v.refresh(context.WithoutCancel(ctx), "unknown kid")
	return v.keys.Load().lookup(kid)
}

// run refreshes the set every RefreshInterval until ctx ends.
func (v *jwtVerifier) run(ctx context.Context) {
	t := time.NewTicker(v.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case v.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		_ = v.refresh(ctx, "periodic")
		<-v.sem
	}
}

// fetchURL GETs the JWKS URL, bounded by FetchTimeout and MaxJWKSBytes.
func (v *jwtVerifier) fetchURL(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: answered %s", resp.Status)
	}
	b, err := readBounded(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	return b, nil
}

// readFile reads the JWKS file, bounded by MaxJWKSBytes. It does not block
// on ctx: a local file read is short.
func (v *jwtVerifier) readFile(context.Context) ([]byte, error) {
	f, err := os.Open(v.cfg.JWKSFile)
	if err != nil {
		return nil, fmt.Errorf("read jwks: %w", err)
	}
	defer f.Close()
	b, err := readBounded(f)
	if err != nil {
		return nil, fmt.Errorf("read jwks %s: %w", v.cfg.JWKSFile, err)
	}
	return b, nil
}

func readBounded(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxJWKSBytes {
		return nil, errors.New("jwks larger than 1 MiB")
	}
	return b, nil
}
