// Package gatewayproc runs `gateway serve` as a subprocess for the suites
// that drive the gateway from outside (test/badinput, test/interop,
// test/hapifhir, test/openapi): it builds the binary once, picks free
// loopback ports, starts the process with the embedded broker, waits for
// /readyz and stops it with SIGTERM. It is test support; nothing on the
// data path imports it.
package gatewayproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hl7gw/gateway/internal/logbuf"
)

// ModuleRoot is the directory of the go.mod above the working directory.
func ModuleRoot() (string, error) {
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
			return "", errors.New("gatewayproc: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Build compiles the module's ./cmd/gateway into dir and returns the
// binary's path. It takes up to five minutes, bounded by ctx.
func Build(ctx context.Context, dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "gateway")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gateway")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("gatewayproc: go build ./cmd/gateway: %w\n%s", err, out)
	}
	return bin, nil
}

// FreePorts reserves n loopback addresses ("127.0.0.1:port") at once, so
// that they differ, and releases them for the process that will listen.
func FreePorts(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("gatewayproc: reserve port: %w", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// Options change how Start runs a gateway.
type Options struct {
	// Dir receives the config file; required with Config.
	Dir string
	// Config, when not empty, is written to a file passed as --config.
	Config string
	// OpenFiles, when not zero, is the open-file limit (soft and hard) the
	// process starts with.
	OpenFiles uint64
	// ReadyWithin bounds the wait for /readyz (default 60s).
	ReadyWithin time.Duration
}

// Proc is one running `gateway serve`: MLLP, HTTP and gRPC on the
// addresses it holds, the embedded broker on KafkaAddr, stdout and stderr
// in Out.
type Proc struct {
	MLLPAddr, HTTPAddr, GRPCAddr, KafkaAddr string
	Cmd                                     *exec.Cmd
	Out                                     *logbuf.Buffer
	exited                                  chan struct{}
}

// Start runs bin as `gateway serve` on free loopback ports with JSON logs
// at warn level and waits until /readyz answers 200. When the process
// started but did not become ready, Start returns it with the error, so
// that the caller can show its output and Stop it.
func Start(bin string, o Options) (*Proc, error) {
	ports, err := FreePorts(4)
	if err != nil {
		return nil, err
	}
	p := &Proc{MLLPAddr: ports[0], HTTPAddr: ports[1], GRPCAddr: ports[2], KafkaAddr: ports[3]}
	args := []string{"serve",
		"--mllp-addr", p.MLLPAddr, "--http-addr", p.HTTPAddr, "--grpc-addr", p.GRPCAddr,
		"--embedded-kafka-addr", p.KafkaAddr, "--log-level", "warn", "--log-format", "json"}
	if o.Config != "" {
		f, err := os.CreateTemp(o.Dir, "gateway-*.yaml")
		if err != nil {
			return nil, fmt.Errorf("gatewayproc: config file: %w", err)
		}
		_, werr := f.WriteString(o.Config)
		if err := errors.Join(werr, f.Close()); err != nil {
			return nil, fmt.Errorf("gatewayproc: config file: %w", err)
		}
		args = append(args, "--config", f.Name())
	}
	cmd := exec.Command(bin, args...)
	if o.OpenFiles > 0 {
		// The shell sets the limit and becomes the gateway.
		cmd = exec.Command("/bin/sh", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, o.OpenFiles), bin}, args...)...)
	}
	proc, err := startProcess("gateway", cmd)
	if err != nil {
		return nil, err
	}
	p.Cmd, p.Out, p.exited = proc.Cmd, proc.Out, proc.exited
	limit := o.ReadyWithin
	if limit <= 0 {
		limit = 60 * time.Second
	}
	deadline := time.Now().Add(limit)
	for !p.Ready() {
		select {
		case <-p.exited:
			return p, errors.New("gatewayproc: gateway exited before it was ready")
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return p, fmt.Errorf("gatewayproc: gateway not ready within %s", limit)
		}
	}
	return p, nil
}

// Ready reports whether /readyz answers 200.
func (p *Proc) Ready() bool {
	code, err := Status("http://" + p.HTTPAddr + "/readyz")
	return err == nil && code == http.StatusOK
}

// Exited is closed when the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Stop sends SIGTERM and waits; it kills the process after 30s. It reports
// whether the process stopped on SIGTERM: false when it had exited before
// or had to be killed. A nil or unstarted Proc reports true.
func (p *Proc) Stop() bool {
	if p == nil || p.Cmd == nil || p.Cmd.Process == nil || p.exited == nil {
		return true
	}
	select {
	case <-p.exited:
		return false
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return true
	case <-time.After(30 * time.Second):
		_ = p.Cmd.Process.Kill()
		<-p.exited
		return false
	}
}

// Tail is the last n bytes of the process's output, for failure messages.
func (p *Proc) Tail(n int) string {
	if p == nil || p.Out == nil {
		return ""
	}
	s := p.Out.String()
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
