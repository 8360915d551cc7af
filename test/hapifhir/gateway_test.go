package hapifhir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// gateway is a `gateway serve` subprocess: every listener on a free
// loopback port, the embedded broker on another.
type gateway struct {
	httpAddr, kafkaAddr string
	cmd                 *exec.Cmd
	exited              chan struct{}
	out                 *bytes.Buffer
}

// startGateway builds ./cmd/gateway into t.TempDir() and runs it until the
// test ends, waiting until /readyz answers 200.
func startGateway(t *testing.T) *gateway {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "gateway")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gateway")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gateway: %v\n%s", err, out)
	}
	ports, err := freePorts(4)
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{httpAddr: ports[1], kafkaAddr: ports[3], out: &bytes.Buffer{}, exited: make(chan struct{})}
	g.cmd = exec.Command(bin, "serve", "--mllp-addr", ports[0], "--http-addr", ports[1], "--grpc-addr", ports[2],
		"--embedded-kafka-addr", ports[3], "--log-level", "warn", "--log-format", "json")
	g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	go func() { _ = g.cmd.Wait(); close(g.exited) }()
	t.Cleanup(func() {
		if !g.stop() {
			t.Errorf("gateway did not stop on SIGTERM; output:\n%s", g.out)
		}
	})
	if err := g.waitReady(60 * time.Second); err != nil {
		t.Fatalf("%v; output:\n%s", err, g.out)
	}
	return g
}

func (g *gateway) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + g.httpAddr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-g.exited:
			return errors.New("gateway exited before it was ready")
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("gateway not ready within %s", limit)
}

// stop sends SIGTERM and waits 30s; it reports whether the process stopped
// on SIGTERM (false when it had exited before or had to be killed).
func (g *gateway) stop() bool {
	select {
	case <-g.exited:
		return false
	default:
	}
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

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test directory")
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
