package gatewayproc

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/testwait"
)

// recorder is a testing.TB that records Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestAProcessKeepsItsOutputAndEndsOnASignal(t *testing.T) {
	p := Run(t, "sleeper", "sh", "-c", "echo started; exec sleep 30")
	testwait.For(t, 10*time.Second, "the process's first line", func() bool { return strings.Contains(p.Out.String(), "started") })
	if !p.Running() {
		t.Fatal("not running before the signal")
	}
	err := p.Signal(t, syscall.SIGTERM, 10*time.Second)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Fatalf("exit error = %v, want termination by SIGTERM", err)
	}
	if p.Running() || p.ExitErr() != err {
		t.Fatalf("after its exit: running %v, ExitErr %v", p.Running(), p.ExitErr())
	}
}

func TestWaitHTTP(t *testing.T) {
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ready.Close()
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	tests := []struct {
		name     string
		script   string
		url      string
		wantFail string
	}{
		{"a running process whose URL answers 200 is ready", "exec sleep 30", ready.URL, ""},
		{"a process that exits first fails the wait", "exit 3", notReady.URL, "exited"},
		{"a URL that never answers 200 fails the wait at the timeout", "exec sleep 30", notReady.URL, "not 200 after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Run(t, "p", "sh", "-c", tt.script)
			if tt.script == "exit 3" {
				<-p.Exited()
			}
			r := &recorder{TB: t}
			p.WaitHTTP(r, tt.url, time.Second)
			if tt.wantFail == "" && r.failed != "" || !strings.Contains(r.failed, tt.wantFail) {
				t.Fatalf("failure %q, want one containing %q", r.failed, tt.wantFail)
			}
		})
	}
}
