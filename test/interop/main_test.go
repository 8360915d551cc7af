// Package interop drives a real `gateway serve` process with the clients
// its users run: python-hl7's MLLPClient and HAPI HL7v2's MLLP initiator
// send the whole valid HL7 corpus and every answer must match its message
// by MSA-2; the CloudEvents Python SDK's Kafka binding (over
// confluent-kafka) reads every record they produced; and the AR paths are
// asserted with MSA-2 over real MLLP.
//
// The clients are installed by setup.sh (make test-deps). Without them the
// tests that drive them skip, unless INTEROP_REQUIRED=1 (as in make test),
// where they fail; the Go-only tests always run.
package interop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gw is the running gateway under test.
var gw struct {
	mllpAddr, pausedAddr, httpAddr, grpcAddr, kafkaAddr string
	cmd                                                 *exec.Cmd
	exited                                              chan struct{}
	out                                                 *bytes.Buffer
}

// clients are the installed real clients (setup.sh paths); missing says
// why they are not.
var clients struct {
	python, hapiCP string
	missing        string
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	findClients()
	if clients.missing != "" {
		fmt.Println("interop: clients not installed:", clients.missing)
	}
	if err := startGateway(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		if gw.out != nil {
			fmt.Fprintln(os.Stderr, gw.out.String())
		}
		stopGateway()
		return 1
	}
	code := m.Run()
	if !stopGateway() {
		fmt.Fprintln(os.Stderr, "interop: gateway did not stop cleanly on SIGTERM")
		code = 1
	}
	return code
}

// findClients asks setup.sh where the clients are, without installing.
func findClients() {
	out, err := exec.Command("bash", "setup.sh", "paths").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			clients.missing = strings.TrimSpace(string(ee.Stderr))
		} else {
			clients.missing = err.Error()
		}
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "PYTHON":
			clients.python = v
		case "HAPI_CP":
			clients.hapiCP = v
		}
	}
	if clients.python == "" || clients.hapiCP == "" {
		clients.missing = "setup.sh paths printed no PYTHON or HAPI_CP"
	}
}

// needClients skips (bare go test) or fails (INTEROP_REQUIRED=1) when the
// real clients are not installed.
func needClients(t *testing.T) {
	t.Helper()
	if clients.missing == "" {
		return
	}
	if os.Getenv("INTEROP_REQUIRED") == "1" {
		t.Fatalf("INTEROP_REQUIRED=1 but the clients are missing: %s", clients.missing)
	}
	t.Skipf("clients not installed (run test/interop/setup.sh install): %s", clients.missing)
}

// startGateway builds ./cmd/gateway and runs `gateway serve` with two MLLP
// connectors ("mllp" and "paused"), a fhir-rest ("rest", POST /v1/hl7) and
// a grpc connector on free loopback ports and the embedded broker, waiting
// until /readyz answers 200.
func startGateway(dir string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "gateway")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gateway")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/gateway: %w\n%s", err, out)
	}
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	gw.mllpAddr, gw.pausedAddr, gw.httpAddr, gw.kafkaAddr, gw.grpcAddr = ports[0], ports[1], ports[2], ports[3], ports[5]
	cfg := fmt.Sprintf(`connectors:
  - {name: mllp, type: hl7-mllp, config: {listen.address: %q}}
  - {name: paused, type: hl7-mllp, config: {listen.address: %q}}
  - {name: rest, type: fhir-rest}
  - {name: grpc, type: grpc}
`, gw.mllpAddr, gw.pausedAddr)
	cfgFile := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return err
	}
	gw.out = &bytes.Buffer{}
	gw.cmd = exec.Command(bin, "serve", "--config", cfgFile,
		"--mllp-addr", ports[4], "--http-addr", gw.httpAddr, "--grpc-addr", gw.grpcAddr,
		"--embedded-kafka-addr", gw.kafkaAddr, "--log-level", "warn", "--log-format", "json")
	gw.cmd.Stdout, gw.cmd.Stderr = gw.out, gw.out
	if err := gw.cmd.Start(); err != nil {
		return fmt.Errorf("start gateway: %w", err)
	}
	gw.exited = make(chan struct{})
	go func() { _ = gw.cmd.Wait(); close(gw.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for !ready() {
		select {
		case <-gw.exited:
			return errors.New("gateway exited before it was ready")
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("gateway not ready within 60s")
		}
	}
	return nil
}

func ready() bool {
	resp, err := http.Get("http://" + gw.httpAddr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stopGateway sends SIGTERM and waits; it kills the process after 30s.
// It reports whether the process stopped on SIGTERM.
func stopGateway() bool {
	if gw.cmd == nil || gw.cmd.Process == nil {
		return true
	}
	select {
	case <-gw.exited:
		return false
	default:
	}
	_ = gw.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-gw.exited:
		return true
	case <-time.After(30 * time.Second):
		_ = gw.cmd.Process.Kill()
		<-gw.exited
		return false
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

// corpus lists the valid HL7 corpus files, sorted.
func corpus(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../ingest/hl7/testdata/corpus/valid/*.hl7")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	return files
}
