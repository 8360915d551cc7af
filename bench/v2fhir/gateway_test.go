package v2fhir

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/gatewayproc"
)

var gatewayBuild struct {
	once sync.Once
	bin  string
	err  error
	dir  string
}

// gatewayBinary builds ./cmd/gateway once per test binary (GATEWAY_BIN
// names a binary to use instead) and checks that it has the convert
// command; without it the test skips unless env is "1".
func gatewayBinary(t *testing.T, env string) string {
	t.Helper()
	gatewayBuild.once.Do(func() {
		if bin := os.Getenv("GATEWAY_BIN"); bin != "" {
			gatewayBuild.bin, gatewayBuild.err = filepath.Abs(bin)
			return
		}
		dir, err := os.MkdirTemp("", "v2fhir-gateway-")
		if err != nil {
			gatewayBuild.err = err
			return
		}
		gatewayBuild.dir = dir
		gatewayBuild.bin, gatewayBuild.err = gatewayproc.Build(context.Background(), dir)
	})
	if gatewayBuild.err != nil {
		t.Fatal(gatewayBuild.err)
	}
	out, _ := exec.Command(gatewayBuild.bin, "help").CombinedOutput()
	if !bytes.Contains(out, []byte("convert")) {
		need(t, env, "this gateway has no convert command (issue 16)")
	}
	return gatewayBuild.bin
}

// gatewayRun is what `gateway convert -compact` made of each message.
type gatewayRun struct {
	bundles map[string]map[string]any // by message name
	errors  map[string]string
}

// runGateway converts the messages with one `gateway convert -compact`
// process; when that one fails or prints other than a Bundle per file, it
// converts each message with its own process, so one message's failure is
// told apart from the others'.
func runGateway(t *testing.T, bin string, msgs []message) *gatewayRun {
	t.Helper()
	r := &gatewayRun{bundles: map[string]map[string]any{}, errors: map[string]string{}}
	paths := make([]string, len(msgs))
	for i, m := range msgs {
		paths[i] = m.path
	}
	if out, _, err := convert(bin, paths...); err == nil {
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(lines) == len(msgs) {
			for i, l := range lines {
				b, err := decodeJSON([]byte(l))
				if err != nil {
					t.Fatalf("gateway convert -compact %s: %v", msgs[i].name, err)
				}
				checkBundle(t, msgs[i].name, b)
				r.bundles[msgs[i].name] = b
			}
			return r
		}
	}
	for _, m := range msgs {
		out, stderr, err := convert(bin, m.path)
		if err != nil {
			r.errors[m.name] = strings.TrimPrefix(firstLine(stderr), m.path+": ")
			if r.errors[m.name] == "" {
				r.errors[m.name] = err.Error()
			}
			continue
		}
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(lines) != 1 {
			t.Fatalf("gateway convert -compact %s printed %d lines, want one Bundle", m.name, len(lines))
		}
		b, err := decodeJSON([]byte(lines[0]))
		if err != nil {
			t.Fatalf("gateway convert -compact %s: %v", m.name, err)
		}
		checkBundle(t, m.name, b)
		r.bundles[m.name] = b
	}
	return r
}

func checkBundle(t *testing.T, name string, b map[string]any) {
	t.Helper()
	if b["resourceType"] != "Bundle" || b["type"] != "transaction" {
		t.Fatalf("gateway convert -compact %s: not a transaction Bundle (%v, %v)", name, b["resourceType"], b["type"])
	}
}

func convert(bin string, files ...string) (stdout []byte, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"convert", "-compact"}, files...)...)
	var eb bytes.Buffer
	cmd.Stderr = &eb
	out, err := cmd.Output()
	return out, eb.String(), err
}

// gatewayCPU is the CPU time (user + system, from the process's rusage)
// that one `gateway convert -compact` of files repeated copies times
// takes, output discarded.
func gatewayCPU(t *testing.T, bin string, files []string, copies int) time.Duration {
	t.Helper()
	args := []string{"convert", "-compact"}
	for range copies {
		args = append(args, files...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout = io.Discard
	var eb bytes.Buffer
	cmd.Stderr = &eb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gateway convert over %d files: %v\n%s", len(args)-2, err, tail(eb.String(), 2000))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no rusage on this platform")
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
