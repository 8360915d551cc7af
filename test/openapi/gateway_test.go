package openapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gateway is a running `gateway serve` and the API keys it takes.
type gateway struct {
	httpAddr string
	// writer has fhir:write, hl7:write and gateway:admin; hl7Only has
	// hl7:write alone; both are empty without authentication.
	writer, hl7Only string

	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex
	log    bytes.Buffer
}

func (g *gateway) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.log.Write(p)
}

func (g *gateway) logText() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.log.String()
}

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
		if !gw.stop() {
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
		bin := filepath.Join(dir, "gateway")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gateway")
		build.Dir = moduleRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/gateway: %v\n%s", err, out)
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
	case <-gw.exited:
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
	gw := &gateway{exited: make(chan struct{})}
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
	cfg := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(cfg, []byte("connectors:\n  - name: fhir-rest\n    type: fhir-rest\n    config: {"+settings+"}\n"), 0o600); err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	gw.httpAddr = ports[0]
	gw.cmd = exec.Command(bin, "serve", "--config", cfg, "--http-addr", gw.httpAddr,
		"--embedded-kafka-addr", ports[1], "--log-level", "warn", "--log-format", "json")
	gw.cmd.Stdout, gw.cmd.Stderr = gw, gw
	if err := gw.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	go func() { _ = gw.cmd.Wait(); close(gw.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for !ready(gw.httpAddr) {
		select {
		case <-gw.exited:
			return nil, fmt.Errorf("gateway exited before it was ready:\n%s", gw.logText())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			gw.stop()
			return nil, fmt.Errorf("gateway not ready within 60s:\n%s", gw.logText())
		}
	}
	return gw, nil
}

// stop sends SIGTERM and waits; it kills the process after 30s and
// reports whether it stopped on SIGTERM.
func (g *gateway) stop() bool {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
		return true
	case <-time.After(30 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
		return false
	}
}

func ready(addr string) bool {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
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

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal(errors.New("go.mod not found above the test directory"))
		}
		dir = parent
	}
}

// freePorts reserves n loopback ports at once, so that they differ, and
// releases them for the gateway.
func freePorts(n int) ([]string, error) {
	var addrs []string
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve port: %w", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
