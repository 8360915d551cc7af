// Package kafkatest runs a real Apache Kafka cluster for tests through
// test/kafka/kafka.sh: N combined controller+broker KRaft nodes on loopback,
// optionally with SASL (PLAIN, SCRAM-SHA-256/512), TLS and ACLs.
//
// Real-Kafka tests run only when the environment variable KAFKA_TESTS is set
// (`make test` sets it); without it Up skips the test, and with it any failure
// to fetch, format or start Kafka fails the test. Each test package that uses
// a cluster should pick its own BasePort: `go test` runs packages in parallel
// and two packages on one port would share, and stop, each other's cluster.
//
// A fault test looks like:
//
//	c := kafkatest.Up(t, kafkatest.Options{Brokers: 3, BasePort: 19500})
//	... produce with c.ClientOpts(kafkatest.Admin) ...
//	c.Kill(t, 1)                  // SIGKILL broker 1
//	... check answers ...
//	c.Start(t, 1)                 // kafka.sh up: restarts what is down
//	c.WaitHealthy(t, ctx, topics) // ISR full again
package kafkatest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// EnvEnable is the environment variable that turns real-Kafka tests on.
const EnvEnable = "KAFKA_TESTS"

// Options select the cluster to run.
type Options struct {
	// Brokers is the number of nodes; 0 means 3.
	Brokers int
	// BasePort is node 0's client port; node i listens on BasePort+i and
	// its controller on BasePort+100+i. 0 means 19092.
	BasePort int
	// SASL turns on SASL (PLAIN and SCRAM) with ACLs; users Admin and
	// Gateway.
	SASL bool
	// TLS turns on TLS with a CA generated for this cluster.
	TLS bool
	// Keep leaves the cluster running after the test (Up registers no
	// Down); a later Up with the same options reuses it.
	Keep bool
}

func (o Options) withDefaults() Options {
	if o.Brokers == 0 {
		o.Brokers = 3
	}
	if o.BasePort == 0 {
		o.BasePort = 19092
	}
	return o
}

func (o Options) args() []string {
	a := []string{"--brokers", strconv.Itoa(o.Brokers), "--base-port", strconv.Itoa(o.BasePort)}
	if o.SASL {
		a = append(a, "--sasl")
	}
	if o.TLS {
		a = append(a, "--tls")
	}
	return a
}

// Cluster is a running cluster started by kafka.sh. Its methods may be called
// from several goroutines; Kill/Stop/Start change shared broker state, so
// tests that use them should not run in parallel with others on the cluster.
type Cluster struct {
	opts   Options
	script string
	dir    string
	env    map[string]string
}

// Enabled reports whether real-Kafka tests are turned on.
func Enabled() bool { return os.Getenv(EnvEnable) != "" }

// Up starts (or reuses) the cluster for a test and registers its Down as a
// cleanup unless opts.Keep. It skips the test when KAFKA_TESTS is unset and
// fails it when the cluster cannot be started.
func Up(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if !Enabled() {
		t.Skipf("real Kafka tests are off: set %s=1 (make test does)", EnvEnable)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := Launch(ctx, opts)
	if err != nil {
		t.Fatalf("start Kafka: %v", err)
	}
	if !opts.Keep {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.Down(ctx); err != nil {
				t.Errorf("stop Kafka: %v", err)
			}
		})
	}
	return c
}

// Launch runs `kafka.sh up` and returns the cluster once it answers metadata
// with all brokers. It blocks until then, the script's own bounded wait
// fails, or ctx ends. For TestMain, which has no testing.TB.
func Launch(ctx context.Context, opts Options) (*Cluster, error) {
	opts = opts.withDefaults()
	script, err := scriptPath()
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, script: script}
	if err := c.run(ctx, "up", opts.args()...); err != nil {
		return nil, err
	}
	c.dir = runDir(opts.BasePort)
	env, err := readEnv(filepath.Join(c.dir, "cluster.env"))
	if err != nil {
		return nil, err
	}
	c.env = env
	return c, nil
}

// scriptPath finds kafka.sh beside this package's source, or through the
// environment variable KAFKA_SH.
func scriptPath() (string, error) {
	if p := os.Getenv("KAFKA_SH"); p != "" {
		return p, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if ok {
		p := filepath.Join(filepath.Dir(file), "..", "kafka.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("kafkatest: kafka.sh not found (set KAFKA_SH)")
}

// runDir mirrors kafka.sh's choice of run directory.
func runDir(basePort int) string {
	if d := os.Getenv("KAFKA_RUN_DIR"); d != "" {
		return d
	}
	tmp := os.Getenv("TMPDIR")
	if tmp == "" {
		tmp = "/tmp"
	}
	return filepath.Join(tmp, "hl7gw-kafka-"+strconv.Itoa(basePort))
}

// run runs the script; its output is returned in the error on failure.
func (c *Cluster) run(ctx context.Context, cmd string, args ...string) error {
	out, err := exec.CommandContext(ctx, "bash", append([]string{c.script, cmd}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kafka.sh %s: %w\n%s", cmd, err, bytes.TrimSpace(out))
	}
	return nil
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read cluster env: %w", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// Options returns the options the cluster was started with, defaults filled.
func (c *Cluster) Options() Options { return c.opts }

// Dir is the cluster's run directory (node-<i>/server.log, cluster.env, tls/).
func (c *Cluster) Dir() string { return c.dir }

// Env returns a value of cluster.env, e.g. KAFKA_CA_FILE; "" when absent.
func (c *Cluster) Env(key string) string { return c.env[key] }

// Brokers returns every node's client address, node 0 first.
func (c *Cluster) Brokers() []string {
	out := make([]string, c.opts.Brokers)
	for i := range out {
		out[i] = c.Broker(i)
	}
	return out
}

// Broker returns node i's client address.
func (c *Cluster) Broker(i int) string {
	return "127.0.0.1:" + strconv.Itoa(c.opts.BasePort+i)
}

// PID returns node i's process id, or 0 when it has none recorded.
func (c *Cluster) PID(i int) int {
	b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("node-%d", i), "pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Running reports whether node i's process is alive.
func (c *Cluster) Running(i int) bool {
	pid := c.PID(i)
	if pid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte("kafka.Kafka"))
}

// Kill sends SIGKILL to node i (no controlled shutdown: a crash) and waits
// until the process is gone.
func (c *Cluster) Kill(t testing.TB, i int) {
	t.Helper()
	if err := c.signal(context.Background(), i, syscall.SIGKILL); err != nil {
		t.Fatalf("kill node %d: %v", i, err)
	}
}

// Stop sends SIGTERM to node i (controlled shutdown) and waits until it exits.
func (c *Cluster) Stop(t testing.TB, i int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.signal(ctx, i, syscall.SIGTERM); err != nil {
		t.Fatalf("stop node %d: %v", i, err)
	}
}

// signal sends sig to node i and blocks until the process has exited or ctx
// ends.
func (c *Cluster) signal(ctx context.Context, i int, sig syscall.Signal) error {
	if !c.Running(i) {
		return fmt.Errorf("node %d is not running", i)
	}
	pid := c.PID(i)
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signal %d: %w", pid, err)
	}
	for c.Running(i) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %d still running: %w", i, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// Start brings node i back with `kafka.sh up`, which starts every node of the
// cluster that is not running and waits until all answer metadata.
func (c *Cluster) Start(t testing.TB, i int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := c.StartContext(ctx); err != nil {
		t.Fatalf("start node %d: %v", i, err)
	}
	if !c.Running(i) {
		t.Fatalf("node %d not running after kafka.sh up", i)
	}
}

// StartContext runs `kafka.sh up` for the cluster: every stopped node is
// started; it blocks until the cluster answers metadata or ctx ends.
func (c *Cluster) StartContext(ctx context.Context) error {
	return c.run(ctx, "up", c.opts.args()...)
}

// Down stops every node and removes the run directory. It blocks until the
// nodes exit (the script escalates to SIGKILL after 20s) or ctx ends.
func (c *Cluster) Down(ctx context.Context) error {
	return c.run(ctx, "down", "--base-port", strconv.Itoa(c.opts.BasePort))
}

// LogTail returns the last n lines of node i's server.log, for failure
// messages.
func (c *Cluster) LogTail(i, n int) string {
	b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("node-%d", i), "server.log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
