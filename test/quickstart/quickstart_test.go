package quickstart

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
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/logbuf"
)

// repo is the repository root, where the README's commands run.
const repo = "../.."

// defaultPorts are the ports `make run` listens on: MLLP, HTTP, gRPC and
// the embedded broker.
var defaultPorts = []int{2575, 8080, 9090, 9092}

// expectation is what one quick-start command must do: its exit status is
// always checked to be 0, and its output must match every pattern.
type expectation struct {
	name    string
	command *regexp.Regexp // which README command this is
	output  []*regexp.Regexp
	// each, when set, must match every non-empty line of the output.
	each *regexp.Regexp
}

var expectations = []expectation{
	{name: "the tools are installed", command: regexp.MustCompile(`^bash scripts/tools\.sh grpcurl && bash test/kcat/check\.sh install$`)},
	{name: "one message is answered AA", command: regexp.MustCompile(`^bin/gateway send 127\.0\.0\.1:2575 \S+\.hl7\s+#`),
		output: []*regexp.Regexp{regexp.MustCompile(`(?m)\tMSA\|(AA|CA)\|`)}},
	{name: "a Patient is created", command: regexp.MustCompile(`(?s)^curl .*fhir/Patient`),
		output: []*regexp.Regexp{regexp.MustCompile(`^HTTP/1\.1 201 `), regexp.MustCompile(`(?mi)^Location: http://localhost:8080/fhir/Patient/`)}},
	{name: "kcat reads the key and headers", command: regexp.MustCompile(`^kcat `),
		output: []*regexp.Regexp{regexp.MustCompile(`(?m)^\S+ .*ce_id=.*hl7\.control_id=`)}},
	{name: "gRPC health is SERVING", command: regexp.MustCompile(`^bin/grpcurl .*grpc\.health\.v1\.Health/Check`),
		output: []*regexp.Regexp{regexp.MustCompile(`"status": "SERVING"`)}},
	{name: "the HL7 corpus validates", command: regexp.MustCompile(`^bin/gateway validate --format hl7 `),
		each: regexp.MustCompile(`^\S+\.hl7\tOK\t`)},
	{name: "FHIR Patients validate", command: regexp.MustCompile(`^bin/gateway validate --format fhir `),
		each: regexp.MustCompile(`^\S+\.json\tOK\t`)},
	{name: "the load generator accepts everything", command: regexp.MustCompile(`^bin/gateway send .*--duration`),
		output: []*regexp.Regexp{regexp.MustCompile(`(?m)^sent=[1-9]\d* accepted=[1-9]\d* not_accepted=0 .* errors=0 `), regexp.MustCompile(`gateway send: 1s: sent=`)}},
	{name: "doctor checks the embedded broker", command: regexp.MustCompile(`^bin/gateway doctor\b`),
		output: []*regexp.Regexp{regexp.MustCompile(`(?m)^tcp 127\.0\.0\.1:9092\s+OK`), regexp.MustCompile(`(?m)^metadata\s+(OK|WARN)`)}},
}

func TestTheREADMEQuickStartRunsVerbatim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs make run on the default ports")
	}
	readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := QuickStart(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if top := commandsOf(blocks[0]); strings.Join(top, "; ") != "make run; make test" {
		t.Fatalf("the quick start's first block is %q, want the two commands make run and make test", top)
	}
	var follow []string
	for _, b := range blocks[1:] {
		follow = append(follow, b...)
	}
	plan := make([]expectation, len(follow))
	for i, c := range follow {
		e, err := expectationFor(c)
		if err != nil {
			t.Fatal(err)
		}
		plan[i] = e
	}
	for _, p := range defaultPorts {
		if err := portFree(p); err != nil {
			t.Fatalf("port %d is in use (%v): this test runs `make run` on the default ports 2575, 8080, 9090 and 9092; stop whatever holds it (a `make run` of your own?) and run again", p, err)
		}
	}

	mr := startMakeRun(t)
	waitReady(t, mr)
	for i, c := range follow {
		e := plan[i]
		t.Run(e.name, func(t *testing.T) {
			out := runVerbatim(t, c)
			for _, re := range e.output {
				if !re.MatchString(out) {
					t.Errorf("output does not match %s", re)
				}
			}
			if e.each != nil {
				n := 0
				for _, line := range strings.Split(out, "\n") {
					if line == "" {
						continue
					}
					n++
					if !e.each.MatchString(line) {
						t.Errorf("line %q does not match %s", line, e.each)
					}
				}
				if n == 0 {
					t.Error("no output lines")
				}
			}
			if t.Failed() {
				t.Logf("command: %s\noutput:\n%s", c, out)
			}
		})
	}
	mr.stop(t)
}

// commandsOf strips trailing comments from simple commands.
func commandsOf(b Block) []string {
	var out []string
	for _, c := range b {
		c, _, _ = strings.Cut(c, "#")
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

// expectationFor finds the one expectation of a README command; a command
// without one fails the test, so that a new README line gets a check.
func expectationFor(cmd string) (expectation, error) {
	var found []expectation
	for _, e := range expectations {
		if e.command.MatchString(cmd) {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		return expectation{}, fmt.Errorf("README quick-start command %q matches %d expectations, want 1: add or sharpen one in quickstart_test.go", cmd, len(found))
	}
	return found[0], nil
}

// portFree reports whether port can be bound on every interface.
func portFree(port int) error {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	return ln.Close()
}

// cleanEnv is the environment without the variables a parent make passes
// to its children (jobserver descriptors that `make run` must not inherit).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKE_TERMOUT", "MAKE_TERMERR":
		default:
			env = append(env, kv)
		}
	}
	return env
}

// runVerbatim runs one README command with bash -c in the repository and
// returns its standard output and error; a non-zero exit fails the test.
func runVerbatim(t *testing.T, command string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", command)
	cmd.Dir, cmd.Env = repo, cleanEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out.String())
	}
	return out.String()
}

// makeRun is `make run` started in the background in its own process
// group, so that the test can reap anything left behind.
type makeRun struct {
	cmd  *exec.Cmd
	out  *logbuf.Buffer
	done chan error
}

func startMakeRun(t *testing.T) *makeRun {
	t.Helper()
	cmd := exec.Command("make", "run")
	cmd.Dir, cmd.Env = repo, cleanEnv()
	out := &logbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("make run: %v", err)
	}
	mr := &makeRun{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { mr.done <- cmd.Wait() }()
	t.Cleanup(func() {
		// Whatever the test did, leave no process of ours behind.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	return mr
}

// waitReady waits until the HTTP door answers /readyz 200 and the MLLP and
// gRPC doors accept connections. The first `make run` on a machine builds
// the gateway, hence the long bound.
func waitReady(t *testing.T, mr *makeRun) {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		select {
		case err := <-mr.done:
			t.Fatalf("make run ended before it was ready: %v\n%s", err, mr.out)
		default:
		}
		if ready() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("make run not ready after 4 minutes:\n%s", mr.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func ready() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://127.0.0.1:8080/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	for _, addr := range []string{"127.0.0.1:2575", "127.0.0.1:9090"} {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		conn.Close()
	}
	return true
}

// stop sends SIGTERM to make alone, as `kill <pid of make>` does, and
// checks that the gateway stopped cleanly, that no child of make is left
// and that the default ports are free again.
func (mr *makeRun) stop(t *testing.T) {
	t.Helper()
	children := childrenOf(mr.cmd.Process.Pid)
	if len(children) == 0 {
		t.Fatalf("make run has no child process:\n%s", mr.out)
	}
	if err := mr.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-mr.done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("make run: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("make run still running 40s after SIGTERM:\n%s", mr.out)
	}
	if !strings.Contains(mr.out.String(), `"msg":"stopped"`) {
		t.Errorf("the gateway did not log a clean stop:\n%s", mr.out)
	}
	for _, pid := range children {
		if alive(pid) {
			t.Errorf("process %d, a child of make run, is still running after make ended: orphaned", pid)
		}
	}
	for _, p := range defaultPorts {
		if err := portFree(p); err != nil {
			t.Errorf("port %d still in use after make run ended: %v", p, err)
		}
	}
}

// childrenOf lists the processes whose parent is pid (from /proc).
func childrenOf(pid int) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	return len(f) > 0 && f[0] != "Z"
}
