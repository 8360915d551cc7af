package gatewayproc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/logbuf"
)

// Process is one child process of a test (a gateway on a configuration of
// its own, HAProxy, ...): its standard output and error go to Out, and
// Exited is closed once it has exited. Suites that run several such
// processes and kill, signal and restart them (test/fault, test/scaleout)
// use it; Start and Proc remain the one-gateway-with-embedded-broker case.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	Out  *logbuf.Buffer

	exited chan struct{}
	err    error
}

// TailLines is how many lines of a process's output a failed test logs.
const TailLines = 40

// Run starts args[0] with the rest of args and registers a cleanup that
// kills the process if it still runs when the test ends and, when the test
// failed, logs the last TailLines lines of its output. A process that
// cannot be started fails the test.
func Run(tb testing.TB, name string, args ...string) *Process {
	tb.Helper()
	p, err := startProcess(name, exec.Command(args[0], args[1:]...))
	if err != nil {
		tb.Fatal(err)
		return nil
	}
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			tb.Logf("%s output, last %d lines:\n%s", name, TailLines, p.Out.Tail(TailLines))
		}
	})
	return p
}

// startProcess starts cmd with its output in a fresh buffer.
func startProcess(name string, cmd *exec.Cmd) (*Process, error) {
	p := &Process{Name: name, Cmd: cmd, Out: &logbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Out, p.Out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("gatewayproc: start %s: %w", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// ExitErr is what Wait returned (nil for exit status 0); call it once
// Exited is closed.
func (p *Process) ExitErr() error {
	<-p.exited
	return p.err
}

// Kill kills the process, if it still runs, and waits for its exit.
func (p *Process) Kill() {
	if p.Running() {
		_ = p.Cmd.Process.Kill()
	}
	<-p.exited
}

// Signal sends sig and waits up to timeout for the process to exit; it
// returns the exit error (nil for exit status 0). A process still running
// after timeout fails the test.
func (p *Process) Signal(tb testing.TB, sig syscall.Signal, timeout time.Duration) error {
	tb.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("signal %s: %v", p.Name, err)
		return err
	}
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		tb.Fatalf("%s still running %v after %v", p.Name, timeout, sig)
		return nil
	}
}

// WaitHTTP polls GET url every 200ms until it answers 200. The process
// exiting first, or timeout passing, fails the test with the last status
// seen.
func (p *Process) WaitHTTP(tb testing.TB, url string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, err := Status(url)
		if err == nil && code == http.StatusOK {
			return
		}
		if !p.Running() {
			tb.Fatalf("%s exited (%v) before %s answered 200", p.Name, p.err, url)
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: %s not 200 after %v (last: %d, %v)", p.Name, url, timeout, code, err)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Status returns the status of GET url, bounded by five seconds; the body
// is read and discarded.
func Status(url string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
