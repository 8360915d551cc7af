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
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/internal/gatewayproc"
)

// gw is the running gateway under test: its two MLLP connectors' addresses
// and the process (HTTP, gRPC, embedded broker).
var gw struct {
	mllpAddr, pausedAddr string
	*gatewayproc.Proc
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
		fmt.Fprintln(os.Stderr, gw.Tail(8000))
		gw.Stop()
		return 1
	}
	code := m.Run()
	if !gw.Stop() {
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
	bin, err := gatewayproc.Build(context.Background(), dir)
	if err != nil {
		return err
	}
	ports, err := gatewayproc.FreePorts(2)
	if err != nil {
		return err
	}
	gw.mllpAddr, gw.pausedAddr = ports[0], ports[1]
	cfg := fmt.Sprintf(`connectors:
  - {name: mllp, type: hl7-mllp, config: {listen.address: %q}}
  - {name: paused, type: hl7-mllp, config: {listen.address: %q}}
  - {name: rest, type: fhir-rest}
  - {name: grpc, type: grpc}
`, gw.mllpAddr, gw.pausedAddr)
	gw.Proc, err = gatewayproc.Start(bin, gatewayproc.Options{Dir: dir, Config: cfg})
	return err
}

// validCorpus lists the paths of the valid HL7 corpus files, sorted.
func validCorpus(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, c := range corpus.Select(t, corpus.HL7, corpus.Valid) {
		files = append(files, c.Path())
	}
	sort.Strings(files)
	return files
}
