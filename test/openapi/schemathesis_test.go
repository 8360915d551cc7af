// Package openapi holds a real `gateway serve` process to the OpenAPI
// document it serves at /openapi.json: schemathesis (PyPI, installed by
// setup.sh into .cache/schemathesis) generates requests from the document
// (its examples, boundary values, random and invalid bodies, parameters
// and headers) and checks every answer: no server error, only documented
// statuses, content types and headers, bodies that match their schemas,
// invalid input refused, unauthenticated calls refused, 405 with Allow for
// undeclared methods (schemathesis.toml: every check but one).
//
// answers_test.go sends what a generator does not write (another client's
// credentials, a body over the limit, a paused connector, Prefer) and
// checks those answers against the document too.
//
// The gateway runs with the embedded broker on free loopback ports and an
// API key file, so that the document's bearer security holds too.
// SCHEMATHESIS_REQUIRED=1 (set by `make test`) turns a missing schemathesis
// into a failure; otherwise the test is skipped without it.
package openapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// maxExamples bounds the generated requests per operation and phase, so
// that the run stays well under a minute and a half on two cores.
const maxExamples = 80

func TestServedDocumentHoldsUnderSchemathesis(t *testing.T) {
	bin := schemathesisBinary(t)
	root := moduleRoot(t)
	dir := t.TempDir()
	gw := startGateway(t, root, dir)

	docURL := "http://" + gw.httpAddr + "/openapi.json"
	resp, err := http.Get(docURL)
	if err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !json.Valid(doc) {
		t.Fatalf("GET /openapi.json without a token: status %d, %d bytes; want 200 and JSON", resp.StatusCode, len(doc))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// schemathesis.toml says which checks run: all but one.
	cmd := exec.CommandContext(ctx, bin, "--config-file", filepath.Join(root, "test", "openapi", "schemathesis.toml"), "run", docURL,
		"--header", "Authorization: Bearer "+gw.writer,
		"--max-examples", strconv.Itoa(maxExamples),
		"--seed", "20261202",
		"--workers", "1",
		"--request-timeout", "30",
		"--phases", "examples,coverage,fuzzing",
		"--suppress-health-check", "all",
	)
	cmd.Env = append(os.Environ(),
		"SCHEMATHESIS_HOOKS="+filepath.Join(root, "test", "openapi", "hooks.py"),
		"NO_COLOR=1", "PYTHONUNBUFFERED=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	runErr := cmd.Run()
	elapsed := time.Since(start)
	summary := summaryOf(out.String())
	t.Logf("schemathesis ran in %.1fs against %s:\n%s", elapsed.Seconds(), docURL, summary)
	if runErr != nil {
		t.Fatalf("schemathesis failed (%v); its output:\n%s\ngateway log tail:\n%s", runErr, tail(out.String(), 20000), tail(gw.log.String(), 3000))
	}
	if !regexp.MustCompile(`\d+ passed`).MatchString(summary) {
		t.Fatalf("schemathesis reported no passed test cases:\n%s", out.String())
	}
}

// schemathesisBinary is the venv's schemathesis (SCHEMATHESIS overrides
// the path). Missing, it fails the test under SCHEMATHESIS_REQUIRED=1 and
// skips it otherwise.
func schemathesisBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SCHEMATHESIS")
	if bin == "" {
		bin = filepath.Join(moduleRoot(t), ".cache", "schemathesis", "venv", "bin", "schemathesis")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("SCHEMATHESIS_REQUIRED") == "1" {
			t.Fatalf("schemathesis not found at %s (SCHEMATHESIS_REQUIRED=1): run test/openapi/setup.sh", bin)
		}
		t.Skipf("schemathesis not found at %s; run test/openapi/setup.sh", bin)
	}
	return bin
}

// summaryOf is schemathesis' closing summary: from the SUMMARY banner on.
func summaryOf(out string) string {
	if i := strings.LastIndex(out, "SUMMARY"); i >= 0 {
		return out[i:]
	}
	return tail(out, 4000)
}

// gateway is a running `gateway serve` and the API keys it takes.
type gateway struct {
	httpAddr string
	log      *bytes.Buffer
	// writer has fhir:write, hl7:write and gateway:admin; hl7Only has
	// hl7:write alone.
	writer, hl7Only string
}

// maxBodyBytes is the connector's http.max.body.bytes: small, so that a
// test can send a larger body.
const maxBodyBytes = 64 << 10

// startGateway builds ./cmd/gateway into dir and runs `gateway serve` with
// one fhir-rest connector (http.max.body.bytes maxBodyBytes, an API key
// file with two random keys) on a free port, and the embedded broker. It
// waits for /readyz and stops the process with SIGTERM at cleanup.
func startGateway(t *testing.T, root, dir string) *gateway {
	t.Helper()
	bin := filepath.Join(dir, "gateway")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gateway")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gateway: %v\n%s", err, out)
	}
	gw := &gateway{log: &bytes.Buffer{}, writer: randomKey(t), hl7Only: randomKey(t)}
	keys := filepath.Join(dir, "api-keys")
	writeFile(t, keys, keyLine("writer", gw.writer, "fhir:write,hl7:write,gateway:admin")+keyLine("hl7-only", gw.hl7Only, "hl7:write"))
	cfg := filepath.Join(dir, "gateway.yaml")
	writeFile(t, cfg, fmt.Sprintf("connectors:\n  - name: fhir-rest\n    type: fhir-rest\n    config: {auth.api.keys.file: %q, http.max.body.bytes: \"%d\"}\n", keys, maxBodyBytes))
	ports := freePorts(t, 2)
	gw.httpAddr = ports[0]
	cmd := exec.Command(bin, "serve", "--config", cfg, "--http-addr", gw.httpAddr,
		"--embedded-kafka-addr", ports[1], "--log-level", "warn", "--log-format", "json")
	cmd.Stdout, cmd.Stderr = gw.log, gw.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("gateway did not stop within 30s of SIGTERM")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !ready(gw.httpAddr) {
		select {
		case <-exited:
			t.Fatalf("gateway exited before it was ready:\n%s", gw.log.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready within 60s:\n%s", gw.log.String())
		}
	}
	return gw
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

func randomKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
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
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("reserve port: %v", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
