// Package badinput throws malformed, truncated, oversized and mistyped
// input at a real `gateway serve` process through all three doors (MLLP,
// REST, gRPC) and checks that every case gets a clear answer, that the
// process survives each group and still accepts a valid message, and that
// its resident memory stays bounded.
//
// The gateway binary is built once in TestMain and run as a subprocess
// with every listener on a free loopback port and the embedded broker.
package badinput

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/internal/gatewayproc"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// rssLimitKiB bounds the gateway's resident memory after the whole suite.
const rssLimitKiB = 400 << 10

// gatewayProc is one running `gateway serve` and a gRPC client of it.
type gatewayProc struct {
	*gatewayproc.Proc
	grpc         gatewayv1.GatewayServiceClient
	rssBeforeKiB int64
}

// gw is the gateway under test, started by TestMain with the defaults.
var gw = &gatewayProc{Proc: &gatewayproc.Proc{}}

// gatewayBin is the gateway binary TestMain built.
var gatewayBin string

// launchOptions change how launchGateway runs a gateway.
type launchOptions struct {
	// config, when not empty, is written to a file passed as --config.
	config string
	// openFiles, when not zero, is the open-file limit (soft and hard)
	// the gateway starts with.
	openFiles uint64
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "badinput-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "badinput:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if err := startGateway(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "badinput:", err)
		fmt.Fprintln(os.Stderr, gw.output())
		stopGateway()
		return 1
	}
	code := m.Run()
	after, err := vmRSSKiB(gw.Cmd.Process.Pid)
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "badinput: read VmRSS after the suite:", err)
		code = 1
	default:
		fmt.Printf("badinput: gateway VmRSS before the suite %d KiB (%.1f MiB), after %d KiB (%.1f MiB), limit %d MiB\n",
			gw.rssBeforeKiB, float64(gw.rssBeforeKiB)/1024, after, float64(after)/1024, rssLimitKiB>>10)
		if after >= rssLimitKiB {
			fmt.Fprintf(os.Stderr, "badinput: gateway VmRSS %d KiB exceeds the bound of %d KiB\n", after, rssLimitKiB)
			code = 1
		}
	}
	if !stopGateway() {
		fmt.Fprintln(os.Stderr, "badinput: gateway did not stop cleanly on SIGTERM")
		code = 1
	}
	return code
}

// startGateway builds ./cmd/gateway into dir and runs `gateway serve` on
// free loopback ports as gw, waiting until /readyz answers 200.
func startGateway(dir string) error {
	var err error
	if gatewayBin, err = gatewayproc.Build(context.Background(), dir); err != nil {
		return err
	}
	p, err := launchGateway(dir, launchOptions{})
	if p != nil {
		gw = p
	}
	if err != nil {
		return err
	}
	gw.rssBeforeKiB, err = vmRSSKiB(gw.Cmd.Process.Pid)
	return err
}

// launchGateway runs gatewayBin's `gateway serve` on free loopback ports,
// with the embedded broker, waiting until /readyz answers 200. Files it
// needs go into dir. On error the process, if started, is returned too,
// so that the caller can show its output and stop it.
func launchGateway(dir string, o launchOptions) (*gatewayProc, error) {
	proc, err := gatewayproc.Start(gatewayBin, gatewayproc.Options{Dir: dir, Config: o.config, OpenFiles: o.openFiles})
	if proc == nil {
		return nil, err
	}
	p := &gatewayProc{Proc: proc}
	if err != nil {
		return p, err
	}
	cc, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20), grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		return p, fmt.Errorf("grpc client: %w", err)
	}
	p.grpc = gatewayv1.NewGatewayServiceClient(cc)
	return p, nil
}

// stopGateway stops gw; see gatewayproc.Proc.Stop.
func stopGateway() bool { return gw.Stop() }

// vmRSSKiB reads VmRSS from /proc/<pid>/status.
func vmRSSKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("open status: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", v, err)
			}
			return n, nil
		}
	}
	return 0, errors.New("no VmRSS line")
}

// requireAlive fails the test when the gateway process has exited, and
// otherwise checks that each door still accepts a valid message.
func requireAlive(t *testing.T) {
	t.Helper()
	select {
	case <-gw.Exited():
		t.Fatalf("gateway process exited; output:\n%s", tail(gw.output(), 4000))
	default:
	}
	msg := corpus.Read(t, corpus.HL7, "valid/pyhl7-sample_hl7.hl7")
	ack, err := mllpRoundTrip(msg)
	if err != nil {
		t.Fatalf("valid message over MLLP after the group: %v", err)
	}
	if code := msaCode(ack); code != "AA" {
		t.Fatalf("valid message over MLLP after the group: MSA-1 %q, want AA; ack %q", code, ack)
	}
	status, body, _ := httpDo(t, http.MethodPost, "/fhir/Patient", "application/fhir+json", corpus.Read(t, corpus.FHIR, "valid/r4ex-Patient-f001.json"))
	if status != http.StatusCreated {
		t.Fatalf("valid Patient over REST after the group: status %d, want 201; body %.300s", status, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := gw.grpc.SubmitHL7(ctx, &gatewayv1.SubmitHL7Request{Message: msg})
	if err != nil || resp.GetAckCode() != "AA" {
		t.Fatalf("valid message over gRPC after the group: ack %q, err %v", resp.GetAckCode(), err)
	}
}

// output is everything p wrote so far ("" before it started).
func (p *gatewayProc) output() string {
	if p == nil || p.Proc == nil || p.Out == nil {
		return ""
	}
	return p.Out.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
