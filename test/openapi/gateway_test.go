package openapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hl7gw/gateway/internal/gatewayproc"
)

// gateway is a running `gateway serve` and the API keys it takes.
type gateway struct {
	*gatewayproc.Proc
	// writer has fhir:write, hl7:write and gateway:admin; hl7Only has
	// hl7:write alone; both are empty without authentication.
	writer, hl7Only string
}

func (g *gateway) logText() string { return g.Out.String() }

// maxBodyBytes is the connector's http.max.body.bytes: small, so that a
// test can send a larger body.
const maxBodyBytes = 64 << 10

// shared holds the package's gateway binary and its two gateways, one
// with bearer tokens and one without authentication, each started by the
// first test that needs it and stopped by TestMain.
var shared struct {
	mu       sync.Mutex
	dir, bin string
	gateways map[bool]*gateway // by withAuth
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, gw := range shared.gateways {
		if !gw.Stop() {
			fmt.Fprintln(os.Stderr, "openapi: gateway did not stop within 30s of SIGTERM")
			code = 1
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedGateway returns the running gateway with API keys (withAuth) or
// without authentication, building and starting it on first use.
func sharedGateway(t *testing.T, withAuth bool) *gateway {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.bin == "" {
		dir, err := os.MkdirTemp("", "openapi-")
		if err != nil {
			t.Fatal(err)
		}
		shared.dir = dir
		bin, err := gatewayproc.Build(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		shared.bin = bin
		shared.gateways = map[bool]*gateway{}
	}
	gw, ok := shared.gateways[withAuth]
	if !ok {
		var err error
		if gw, err = startGateway(shared.bin, filepath.Join(shared.dir, fmt.Sprintf("auth-%t", withAuth)), withAuth); err != nil {
			t.Fatal(err)
		}
		shared.gateways[withAuth] = gw
	}
	select {
	case <-gw.Exited():
		t.Fatalf("gateway exited; its log:\n%s", tail(gw.logText(), 4000))
	default:
	}
	return gw
}

// startGateway runs bin as `gateway serve` with one fhir-rest connector
// (http.max.body.bytes maxBodyBytes; with withAuth an API key file with two
// random keys) on a free port, and the embedded broker, its files in dir.
// It returns once /readyz answers 200.
func startGateway(bin, dir string, withAuth bool) (*gateway, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	gw := &gateway{}
	settings := fmt.Sprintf("http.max.body.bytes: \"%d\"", maxBodyBytes)
	if withAuth {
		gw.writer, gw.hl7Only = randomKey(), randomKey()
		keys := filepath.Join(dir, "api-keys")
		if err := os.WriteFile(keys, []byte(keyLine("writer", gw.writer, "fhir:write,hl7:write,gateway:admin")+
			keyLine("hl7-only", gw.hl7Only, "hl7:write")), 0o600); err != nil {
			return nil, err
		}
		settings += fmt.Sprintf(", auth.api.keys.file: %q", keys)
	}
	cfg := "connectors:\n  - name: fhir-rest\n    type: fhir-rest\n    config: {" + settings + "}\n"
	p, err := gatewayproc.Start(bin, gatewayproc.Options{Dir: dir, Config: cfg})
	if err != nil {
		out := p.Tail(8000)
		p.Stop()
		return nil, fmt.Errorf("%w:\n%s", err, out)
	}
	gw.Proc = p
	return gw, nil
}

// keyLine is a line of an auth.api.keys.file.
func keyLine(name, key, scopes string) string {
	sum := sha256.Sum256([]byte(key))
	return name + " sha256:" + hex.EncodeToString(sum[:]) + " " + scopes + "\n"
}

func randomKey() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
