package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hl7gw/gateway/edge/auth/authtest"
	"github.com/hl7gw/gateway/internal/logbuf"
	"github.com/hl7gw/gateway/internal/metrictest"
	"github.com/hl7gw/gateway/internal/testwait"
)

// Keys of the reload tests; the file holds "<name> HashKey(key) <scopes>".
var reloadKeys = map[string]string{
	"a": "key-a-5f0c8e2d9b7a4361",
	"b": "key-b-0e9d8c7b6a594837",
}

// keyLines is an API key file granting hl7:write to the named reloadKeys.
func keyLines(names ...string) []byte {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + " " + HashKey(reloadKeys[n]) + " " + ScopeHL7Write + "\n")
	}
	return []byte(b.String())
}

// replaceFile writes b to a temporary file beside path and renames it over
// path, as operators should, so a reload never reads half a file.
func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), ".keys-*")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// keyFileAuth is an Authenticator over an API key file, with its metrics
// and logs; Run runs until the test ends.
type keyFileAuth struct {
	*Authenticator
	path string
	reg  *prometheus.Registry
	logs *logbuf.Buffer
}

// newKeyFileAuth writes content to a key file checked every 5ms, creates
// an Authenticator for it (with cfg's other fields) and runs it.
func newKeyFileAuth(t *testing.T, content []byte, cfg Config) *keyFileAuth {
	t.Helper()
	k := &keyFileAuth{path: filepath.Join(t.TempDir(), "api-keys"), reg: prometheus.NewRegistry()}
	writeFile(t, k.path, content)
	cfg.APIKeysFile, cfg.APIKeysReloadInterval = k.path, 5*time.Millisecond
	l, logs := newTestLogger()
	a, err := New(context.Background(), cfg, NewMetrics(k.reg), l)
	if err != nil {
		t.Fatal(err)
	}
	k.Authenticator, k.logs = a, logs
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return k
}

// auth authenticates the named reloadKey for hl7:write.
func (k *keyFileAuth) auth(name string) error {
	_, err := k.Authenticate(context.Background(), "Bearer "+reloadKeys[name], ScopeHL7Write)
	return err
}

func (k *keyFileAuth) reloads(t *testing.T, result string) float64 {
	t.Helper()
	return metrictest.Value(t, k.reg, "gateway_auth_api_keys_reloads_total", map[string]string{"result": result})
}

// gaugeValue reads an unlabelled gauge from reg; -1 if it does not exist.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// noSecretsLogged fails t if the logs carry a key or a hash of one.
func (k *keyFileAuth) noSecretsLogged(t *testing.T) {
	t.Helper()
	logs := k.logs.String()
	for _, key := range reloadKeys {
		hexPart := strings.TrimPrefix(HashKey(key), hashPrefix)
		if strings.Contains(logs, key) || strings.Contains(logs, hexPart[:16]) {
			t.Fatalf("the logs carry a key or its hash:\n%s", logs)
		}
	}
}

func TestAPIKeyFileRewriteRevokesRemovedKeysAndAcceptsAddedOnes(t *testing.T) {
	k := newKeyFileAuth(t, keyLines("a"), Config{})
	if err := k.auth("a"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, k.auth("b"), Invalid, reloadKeys["b"])
	if n := gaugeValue(t, k.reg, "gateway_auth_api_keys"); n != 1 {
		t.Fatalf("gateway_auth_api_keys = %v at start, want 1", n)
	}

	// Requests keep coming while the file is replaced (for the race detector).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var served atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = k.auth("a")
				_ = k.auth("b")
				served.Add(1)
			}
		})
	}
	replaceFile(t, k.path, keyLines("b"))
	testwait.For(t, 5*time.Second, "the added key accepted", func() bool { return k.auth("b") == nil })
	close(stop)
	wg.Wait()

	wantKind(t, k.auth("a"), Invalid, reloadKeys["a"])
	if ok, bad := k.reloads(t, ResultOK), k.reloads(t, ResultError); ok != 1 || bad != 0 {
		t.Fatalf("reloads ok=%v error=%v, want 1 and 0", ok, bad)
	}
	if n := gaugeValue(t, k.reg, "gateway_auth_api_keys"); n != 1 {
		t.Fatalf("gateway_auth_api_keys = %v, want 1", n)
	}

	replaceFile(t, k.path, keyLines("a", "b"))
	testwait.For(t, 5*time.Second, "both keys accepted", func() bool { return k.auth("a") == nil && k.auth("b") == nil })
	testwait.For(t, 5*time.Second, "two keys counted", func() bool { return gaugeValue(t, k.reg, "gateway_auth_api_keys") == 2 })
	// The reload logs after it swaps the keys in and counts them: wait for
	// the line rather than read the log as soon as the keys work.
	testwait.For(t, 5*time.Second, "the reloads naming the keys added and removed", func() bool {
		logs := k.logs.String()
		return strings.Contains(logs, "removed=[a]") && strings.Contains(logs, "added=[a]")
	})
	k.noSecretsLogged(t)
}

func TestBrokenAPIKeyFileKeepsTheOldKeysAndCountsAnError(t *testing.T) {
	k := newKeyFileAuth(t, keyLines("a"), Config{APIKeys: []APIKey{{Name: "static", Hash: HashKey("static-key-0123456789")}}})
	for _, broken := range []struct {
		name    string
		content []byte // nil: the file is removed
	}{
		{"a line without scopes", []byte("b " + HashKey(reloadKeys["b"]) + "\n")},
		{"a short hash", []byte("b " + HashKey(reloadKeys["b"])[:30] + " hl7:write\n")},
		{"no keys at all", []byte("# everything revoked\n")},
		{"a name the configuration uses", []byte("static " + HashKey(reloadKeys["b"]) + " hl7:write\n")},
		{"a removed file", nil},
	} {
		t.Run(broken.name, func(t *testing.T) {
			before := k.reloads(t, ResultError)
			if broken.content == nil {
				if err := os.Remove(k.path); err != nil {
					t.Fatal(err)
				}
			} else {
				replaceFile(t, k.path, broken.content)
			}
			testwait.For(t, 5*time.Second, "the failed reload counted", func() bool { return k.reloads(t, ResultError) == before+1 })
			if err := k.auth("a"); err != nil {
				t.Fatalf("the previous key after the broken file: %v", err)
			}
			wantKind(t, k.auth("b"), Invalid, "")
			// The same broken content is neither retried nor counted again.
			for range 3 {
				k.reloadAPIKeys()
			}
			if n := k.reloads(t, ResultError); n != before+1 {
				t.Fatalf("reload errors = %v after polls of the same broken file, want %v", n, before+1)
			}
			if n := gaugeValue(t, k.reg, "gateway_auth_api_keys_files_stale"); n != 1 {
				t.Fatalf("gateway_auth_api_keys_files_stale = %v while the file is broken, want 1", n)
			}
		})
	}
	if n := k.reloads(t, ResultOK); n != 0 {
		t.Fatalf("reloads ok = %v, want 0", n)
	}
	if n := gaugeValue(t, k.reg, "gateway_auth_api_keys"); n != 2 {
		t.Fatalf("gateway_auth_api_keys = %v, want 2 (the static key and a)", n)
	}
	if !strings.Contains(k.logs.String(), "keeping the previous keys") {
		t.Fatalf("no warning logged:\n%s", k.logs)
	}
	k.noSecretsLogged(t)

	replaceFile(t, k.path, keyLines("b"))
	testwait.For(t, 5*time.Second, "the repaired file's key accepted", func() bool { return k.auth("b") == nil })
	wantKind(t, k.auth("a"), Invalid, "")
	if n := k.reloads(t, ResultOK); n != 1 {
		t.Fatalf("reloads ok = %v after the repair, want 1", n)
	}
	if n := gaugeValue(t, k.reg, "gateway_auth_api_keys_files_stale"); n != 0 {
		t.Fatalf("gateway_auth_api_keys_files_stale = %v after the repair, want 0", n)
	}
}

func TestUnchangedAPIKeyFileCountsNothing(t *testing.T) {
	k := newKeyFileAuth(t, keyLines("a"), Config{})
	// The same bytes written again, with a new modification time: content,
	// not mtime, decides.
	replaceFile(t, k.path, keyLines("a"))
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(k.path, later, later); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		k.reloadAPIKeys() // what Run does every interval
	}
	if ok, bad := k.reloads(t, ResultOK), k.reloads(t, ResultError); ok != 0 || bad != 0 {
		t.Fatalf("reloads ok=%v error=%v for an unchanged file, want none", ok, bad)
	}
	if err := k.auth("a"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(k.logs.String(), "reload") {
		t.Fatalf("an unchanged file was logged as reloaded:\n%s", k.logs)
	}
}

func TestRunReloadsTheAPIKeyFileAndTheJWKSTogether(t *testing.T) {
	first, second := authtest.NewKeySet(t, "first"), authtest.NewKeySet(t, "second")
	jwks := first.WriteJWKS(t, t.TempDir())
	k := newKeyFileAuth(t, keyLines("a"), Config{JWT: &JWTConfig{
		JWKSFile: jwks, Issuer: authtest.Issuer, Audience: authtest.Audience,
		RefreshInterval: 5 * time.Millisecond, MinRefetchInterval: time.Hour,
		Now: func() time.Time { return testNow },
	}})
	jwt := func(ks *authtest.KeySet) error {
		_, err := k.Authenticate(context.Background(), "Bearer "+ks.Token(t, claimsAt("x")), "")
		return err
	}
	// Spend the one unknown-kid refetch, so only Run can bring the new key.
	wantKind(t, jwt(second), Invalid, "")

	replaceFile(t, k.path, keyLines("b"))
	replaceFile(t, jwks, second.JWKS())
	testwait.For(t, 5*time.Second, "the new API key and the new signing key accepted", func() bool {
		return k.auth("b") == nil && jwt(second) == nil
	})
	wantKind(t, k.auth("a"), Invalid, "")
	wantKind(t, jwt(first), Invalid, "")
}

func TestNewRefusesABrokenAPIKeyFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	writeFile(t, good, keyLines("a"))
	broken := filepath.Join(dir, "broken")
	writeFile(t, broken, []byte("a "+HashKey(reloadKeys["a"])[:30]+" x\n"))
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"a missing file fails New", Config{APIKeysFile: filepath.Join(dir, "nope")}, "no such file"},
		{"a broken line fails New and is named", Config{APIKeysFile: broken}, broken + ":1:"},
		{"a name both configured and in the file fails New", Config{APIKeysFile: good,
			APIKeys: []APIKey{{Name: "a", Hash: HashKey("other-key-0123456789")}}}, `api key "a": name used twice`},
		{"a hash both configured and in the file fails New", Config{APIKeysFile: good,
			APIKeys: []APIKey{{Name: "other", Hash: HashKey(reloadKeys["a"])}}}, "same hash"},
		{"a negative reload interval fails New", Config{APIKeysFile: good, APIKeysReloadInterval: -time.Second}, "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.cfg, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), strings.TrimPrefix(HashKey(reloadKeys["a"]), hashPrefix)[:16]) {
				t.Fatalf("error %q echoes a hash", err)
			}
		})
	}
}
