package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// gatewayProc is the `gateway serve` process under test. Its log (JSON,
// level warn: no message bodies at any level) goes to a file in dir.
type gatewayProc struct {
	mllp, http string
	logPath    string
	cmd        *exec.Cmd
	done       chan struct{}
	waitErr    error
}

// gatewaySpec is what the config file needs.
type gatewaySpec struct {
	bin, dir    string
	brokers     []string
	topicPrefix string
	partitions  int
}

// startGateway writes a config (one hl7-mllp connector with topic prefix
// spec.topicPrefix, topics not created by the gateway, default producer
// settings: acks=all, idempotent) and starts the binary. It returns once
// /readyz answers 200, or an error (the process killed) when it does not
// within 90s or ctx ends.
func startGateway(ctx context.Context, spec gatewaySpec) (*gatewayProc, error) {
	addrs, err := freeAddrs(3)
	if err != nil {
		return nil, err
	}
	quoted := make([]string, len(spec.brokers))
	for i, b := range spec.brokers {
		quoted[i] = strconv.Quote(b)
	}
	cfg := fmt.Sprintf(`mllp_addr: %q
http_addr: %q
grpc_addr: %q
shutdown_timeout: 30s
log:
  level: warn
  format: json
kafka:
  brokers: [%s]
  client_id: soak
  topics: {create: false, partitions: %d, replication_factor: 3, min_insync_replicas: 2}
connectors:
  - name: soak-mllp
    type: hl7-mllp
    config:
      listen.address: %q
      topic.prefix: %q
`, addrs[0], addrs[1], addrs[2], strings.Join(quoted, ", "), spec.partitions, addrs[0], spec.topicPrefix)
	cfgPath := filepath.Join(spec.dir, "gateway.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("write gateway config: %w", err)
	}
	g := &gatewayProc{mllp: addrs[0], http: addrs[1], logPath: filepath.Join(spec.dir, "gateway.log"), done: make(chan struct{})}
	logf, err := os.Create(g.logPath)
	if err != nil {
		return nil, fmt.Errorf("gateway log: %w", err)
	}
	g.cmd = exec.Command(spec.bin, "serve", "--config", cfgPath)
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	// The gateway dies with this process, even when it is SIGKILLed.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	go func() {
		g.waitErr = g.cmd.Wait()
		logf.Close()
		close(g.done)
	}()
	if err := g.waitReady(ctx, 90*time.Second); err != nil {
		g.kill()
		return nil, err
	}
	return g, nil
}

func (g *gatewayProc) pid() int { return g.cmd.Process.Pid }

func (g *gatewayProc) running() bool {
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// waitReady polls /readyz until it answers 200.
func (g *gatewayProc) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if code, err := g.get(ctx, "/readyz", io.Discard); err == nil && code == http.StatusOK {
			return nil
		}
		if !g.running() {
			return fmt.Errorf("gateway exited during start (%v); log: %s", g.waitErr, g.logPath)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gateway not ready after %s; log: %s", timeout, g.logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// get fetches path from the ops listener into w and returns the status.
func (g *gatewayProc) get(ctx context.Context, path string, w io.Writer) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.http+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return resp.StatusCode, nil
}

// runtimeStats are Go runtime figures from the gateway's /metrics.
type runtimeStats struct {
	HeapInuse  int64 `json:"heap_inuse_bytes"`
	Goroutines int64 `json:"goroutines"`
	OpenFDs    int64 `json:"open_fds"`
}

// stats scrapes /metrics for the Go collector's heap and goroutine gauges
// and the process collector's open file descriptors; a metric that is
// missing stays 0.
func (g *gatewayProc) stats(ctx context.Context) (runtimeStats, error) {
	var b bytes.Buffer
	code, err := g.get(ctx, "/metrics", &b)
	if err != nil {
		return runtimeStats{}, fmt.Errorf("scrape metrics: %w", err)
	}
	if code != http.StatusOK {
		return runtimeStats{}, fmt.Errorf("scrape metrics: status %d", code)
	}
	var s runtimeStats
	sc := bufio.NewScanner(&b)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes":
			s.HeapInuse = int64(f)
		case "go_goroutines":
			s.Goroutines = int64(f)
		case "process_open_fds":
			s.OpenFDs = int64(f)
		}
	}
	return s, sc.Err()
}

// stop sends SIGTERM and waits up to timeout for the exit; it returns the
// exit code (-1 when killed after the timeout).
func (g *gatewayProc) stop(timeout time.Duration) int {
	if !g.running() {
		return exitCode(g.waitErr)
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
		return exitCode(g.waitErr)
	case <-time.After(timeout):
		g.kill()
		return -1
	}
}

// kill ends the process at once and waits for it.
func (g *gatewayProc) kill() {
	if g.running() {
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

// logLevels counts the gateway log's lines by level ("WARN", "ERROR", ...).
func (g *gatewayProc) logLevels() map[string]int {
	out := map[string]int{}
	f, err := os.Open(g.logPath)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		_, rest, ok := strings.Cut(sc.Text(), `"level":"`)
		if !ok {
			out["unstructured"]++
			continue
		}
		lvl, _, _ := strings.Cut(rest, `"`)
		out[lvl]++
	}
	return out
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// freeAddrs returns n loopback addresses nothing listens on right now.
func freeAddrs(n int) ([]string, error) {
	out := make([]string, n)
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	for i := range out {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		lns = append(lns, l)
		out[i] = l.Addr().String()
	}
	return out, nil
}
