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
	// hl7:write alone.
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

// shared is the package's one gateway, started by the first test that
// needs it and stopped by TestMain.
var shared struct {
	once sync.Once
	dir  string
	gw   *gateway
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.gw != nil && !shared.gw.stop() {
		fmt.Fprintln(os.Stderr, "openapi: gateway did not stop within 30s of SIGTERM")
		code = 1
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedGateway returns the running gateway, starting it on first use.
func sharedGateway(t *testing.T) *gateway {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "openapi-")
		if shared.err == nil {
			shared.gw, shared.err = startGateway(moduleRoot(t), shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	select {
	case <-shared.gw.exited:
		t.Fatalf("gateway exited; its log:\n%s", tail(shared.gw.logText(), 4000))
	default:
	}
	return shared.gw
}

// startGateway builds ./cmd/gateway into dir and runs `gateway serve` with
// one fhir-rest connector (http.max.body.bytes maxBodyBytes, an API key
// file with two random keys) on a free port, and the embedded broker. It
// returns once /readyz answers 200.
func startGateway(root, dir string) (*gateway, error) {
	bin := filepath.Join(dir, "gateway")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gateway")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/gateway: %w\n%s", err, out)
	}
	gw := &gateway{writer: randomKey(), hl7Only: randomKey(), exited: make(chan struct{})}
	keys := filepath.Join(dir, "api-keys")
	if err := os.WriteFile(keys, []byte(keyLine("writer", gw.writer, "fhir:write,hl7:write,gateway:admin")+
		keyLine("hl7-only", gw.hl7Only, "hl7:write")), 0o600); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("connectors:\n  - name: fhir-rest\n    type: fhir-rest\n"+
		"    config: {auth.api.keys.file: %q, http.max.body.bytes: \"%d\"}\n", keys, maxBodyBytes)), 0o600); err != nil {
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
