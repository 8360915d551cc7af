package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/logbuf"
)

// runCLI runs a command line as main does and returns its exit code and
// outputs.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpIsPrintedOnStandardOutputAndExitsZero(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		want      []string // on stdout
		wantNot   []string
		wantCode  int
		wantInErr string
	}{
		{name: "gateway help lists every command", args: []string{"help"}, want: []string{"serve", "send", "validate", "doctor", "hash-key", "version"}},
		{name: "gateway --help lists every command", args: []string{"--help"}, want: []string{"doctor", "hash-key"}},
		{name: "gateway -h lists every command", args: []string{"-h"}, want: []string{"validate"}},
		{name: "serve --help lists serve flags", args: []string{"serve", "--help"}, want: []string{"Usage: gateway [serve]", "-mllp-addr", "-kafka-brokers"}},
		{name: "doctor --help lists doctor flags and not serve's", args: []string{"doctor", "--help"}, want: []string{"Usage: gateway doctor", "-json", "-topic", "-kafka-brokers", "-embedded-kafka-addr"}, wantNot: []string{"-mllp-addr", "-http-addr", "-grpc-addr"}},
		{name: "hash-key --help describes hash-key", args: []string{"hash-key", "--help"}, want: []string{"Usage: gateway hash-key"}},
		{name: "send -h lists the load flags", args: []string{"send", "-h"}, want: []string{"-connections", "-no-answer-wait", "MSH-15"}},
		{name: "validate --help lists --lenient", args: []string{"validate", "--help"}, want: []string{"-lenient", "-strict"}},
		{name: "help doctor is doctor --help", args: []string{"help", "doctor"}, want: []string{"Usage: gateway doctor", "-json"}},
		{name: "an unknown command exits 2 with the list of commands", args: []string{"frobnicate"}, wantCode: 2, wantInErr: "hash-key"},
		{name: "help for an unknown command exits 2", args: []string{"help", "frobnicate"}, wantCode: 2, wantInErr: "unknown command"},
		{name: "an unknown flag exits 2 and points at --help", args: []string{"doctor", "--bogus"}, wantCode: 2, wantInErr: "gateway doctor --help"},
		{name: "a serve flag given to doctor is a usage error", args: []string{"doctor", "--mllp-addr", ":1"}, wantCode: 2, wantInErr: "does not apply to doctor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("stdout holds %q:\n%s", w, out)
				}
			}
			if !strings.Contains(errOut, tt.wantInErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantInErr, errOut)
			}
		})
	}
}

func TestVersionPrintsTheBuildInfo(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runCLI(t, args...)
		want := "gateway " + readBuildInfo().String() + "\n"
		if code != 0 || out != want || !strings.Contains(out, "revision ") {
			t.Fatalf("%v: exit %d, %q, want %q", args, code, out, want)
		}
	}
}

func TestBuildInfoStringNamesRevisionAndModification(t *testing.T) {
	b := buildInfo{Version: "v1.2.3", Revision: "abc123", Modified: true, GoVersion: "go1.26"}
	if got, want := b.String(), "v1.2.3 (revision abc123, modified, go1.26)"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if got := (buildInfo{Version: "(devel)", GoVersion: "go1.26"}).String(); got != "(devel) (revision unknown, go1.26)" {
		t.Fatalf("String() = %q", got)
	}
}

func TestValidateFHIRIsStrictByDefaultLikeTheServer(t *testing.T) {
	// An unknown element is a warning when lenient, an error when strict.
	p := filepath.Join(t.TempDir(), "patient.json")
	if err := os.WriteFile(p, []byte(`{"resourceType":"Patient","birthDate":"1970-01-01","notAnElement":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"by default it is strict", nil, 1, "\tERROR\t"},
		{"--lenient is lenient", []string{"--lenient"}, 0, "\tOK\t"},
		{"--strict=false is lenient", []string{"--strict=false"}, 0, "\tOK\t"},
		{"--strict is strict", []string{"--strict"}, 1, "\tERROR\t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"validate", "--format", "fhir"}, tt.args...)
			code, out, errOut := runCLI(t, append(args, p)...)
			if code != tt.wantCode || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, %q (%s), want %d and %q", code, out, errOut, tt.wantCode, tt.want)
			}
		})
	}
	if code, _, errOut := runCLI(t, "validate", "--format", "fhir", "--strict", "--lenient", p); code != 2 {
		t.Fatalf("--strict --lenient: exit %d (%s), want 2", code, errOut)
	}
}

func TestDoctorWithoutBrokersChecksTheEmbeddedBrokerOfARunningGateway(t *testing.T) {
	g, _ := startGateway(t, testConfig())
	addr := g.brokerAddrs()[0]
	closed := "127.0.0.1:1"
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"the embedded address from the environment is checked", map[string]string{"GATEWAY_EMBEDDED_KAFKA_ADDR": addr}, nil, "tcp " + addr},
		{"the flag wins over the environment", map[string]string{"GATEWAY_EMBEDDED_KAFKA_ADDR": closed}, []string{"--embedded-kafka-addr", addr}, "tcp " + addr},
		{"configured brokers win over the embedded address", map[string]string{"GATEWAY_EMBEDDED_KAFKA_ADDR": closed, "GATEWAY_KAFKA_BROKERS": addr}, nil, "tcp " + addr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, out, errOut := runCLI(t, append([]string{"doctor"}, tt.args...)...)
			if code != 0 || !strings.Contains(out, tt.want) || !strings.Contains(out, "metadata") {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
}

func TestServeLogsItsVersionAndEveryDoorAtStartUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logbuf.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--mllp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
			"--grpc-addr", "127.0.0.1:0", "--embedded-kafka-addr", "127.0.0.1:0"}, &bytes.Buffer{}, logs)
	}()
	doors := []string{`"door":"mllp"`, `"door":"http"`, `"door":"grpc"`}
	deadline := time.Now().Add(30 * time.Second)
	for !containsAll(logs.String(), doors) {
		if time.Now().After(deadline) {
			t.Fatalf("no listening line for every door after 30s:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs)
	}
	want := `"msg":"gateway starting","version":"` + readBuildInfo().Version + `"`
	if !strings.Contains(logs.String(), want) {
		t.Fatalf("no start-up line %s:\n%s", want, logs)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"listening"`) && !regexp.MustCompile(`"addr":"127\.0\.0\.1:\d+"`).MatchString(line) {
			t.Errorf("listening line without its address: %s", line)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
