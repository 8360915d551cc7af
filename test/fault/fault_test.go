// Package fault_test runs the gateway binary as a subprocess against a real
// 3-broker Apache Kafka cluster (RF 3, min.insync.replicas 2) and injects
// faults while the load generator sends HL7 v2 over MLLP and Patients over
// REST: brokers killed, no broker at start, the gateway SIGKILLed and
// SIGTERMed. Every scenario ends by checking the invariant: every message
// answered AA (or 201) is in Kafka; duplicates are counted, not failed.
//
// The tests skip unless KAFKA_TESTS is set (`make test` sets it).
package fault_test

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/internal/gatewayproc"
	"github.com/hl7gw/gateway/test/kafka/kafkatest"
)

// basePort is this package's own port range (brokers 19700-19702,
// controllers 19800-19802), apart from the other real-Kafka suites.
const basePort = 19700

var (
	cluster    *kafkatest.Cluster
	gatewayBin string

	// adtA01 is valid/fhirconv-ADT01-28.hl7 of the HL7 corpus, read by setUp.
	adtA01 []byte
	//go:embed testdata/patient.json
	patientJSON []byte
)

func TestMain(m *testing.M) {
	if !kafkatest.Enabled() {
		os.Exit(m.Run())
	}
	os.Exit(setUp(m))
}

// setUp builds the gateway, starts the cluster and creates the topics, runs
// the tests and tears everything down; it returns the exit code.
func setUp(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "fault-gateway-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if adtA01, err = os.ReadFile(corpus.Path(corpus.HL7, "valid/fhirconv-ADT01-28.hl7")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	if gatewayBin, err = gatewayproc.Build(context.Background(), tmp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "go build ./cmd/gateway: %s\n", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := kafkatest.Launch(ctx, kafkatest.Options{Brokers: 3, BasePort: basePort})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start Kafka:", err)
		return 1
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.Down(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "stop Kafka:", err)
		}
	}()
	if err := c.CreateTopics(ctx, 3, dataTopics...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "kafka.sh up --brokers 3 + topics: %s\n", time.Since(start).Round(time.Millisecond))
	cluster = c
	return m.Run()
}

// need returns the cluster, skipping when real-Kafka tests are off.
func need(t *testing.T) *kafkatest.Cluster {
	t.Helper()
	if cluster == nil {
		t.Skipf("real Kafka tests are off: set %s=1", kafkatest.EnvEnable)
	}
	return cluster
}

// healthy waits until all brokers are back and every data topic's ISR is
// full, so that each scenario starts from the same cluster state.
func healthy(t *testing.T) {
	t.Helper()
	cluster.WaitHealthy(t, 3*time.Minute, dataTopics...)
}

// background runs f in a goroutine; the returned wait blocks until it ends.
func background(f func()) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(f)
	return wg.Wait
}

func TestGatewayUnderFaults(t *testing.T) {
	c := need(t)
	suiteStart := time.Now()
	defer func() { t.Logf("fault suite took %s", time.Since(suiteStart).Round(time.Millisecond)) }()

	t.Run("one broker killed mid-load: every message is still answered AA", func(t *testing.T) {
		healthy(t)
		g := writeConfig(t, c.Brokers())
		g.start(t, true)
		a := newAcks()
		ctx, stopREST := context.WithCancel(context.Background())
		restDone := background(func() { a.restLoop(ctx, g) })
		var rep fmt.Stringer
		var loadErr error
		loadDone := background(func() {
			r, err := a.load(context.Background(), g, "FA", 4, 0, 20*time.Second, 100)
			rep, loadErr = r, err
		})
		time.Sleep(5 * time.Second)
		killed := time.Now()
		c.Kill(t, 1)
		t.Logf("broker 1 SIGKILLed")
		loadDone()
		stopREST()
		restDone()
		t.Logf("MLLP: %v (load err %v); REST statuses %v; %s since the kill", rep, loadErr, a.restStatuses(), time.Since(killed).Round(time.Millisecond))
		if loadErr != nil {
			t.Errorf("load: %v", loadErr)
		}
		for code, n := range a.codes() {
			if code != "AA" {
				t.Errorf("%d MLLP messages answered %q with one broker down, want every one AA", n, code)
			}
		}
		for status, n := range a.restStatuses() {
			if status != http.StatusCreated {
				t.Errorf("%d REST POSTs answered %d with one broker down, want 201", n, status)
			}
		}
		c.Start(t, 1)
		checkInvariant(t, c, a)
	})

	t.Run("two brokers killed: answers are AR or 503 within the delivery timeout, never AA, and AA again once they return", func(t *testing.T) {
		healthy(t)
		g := writeConfig(t, c.Brokers())
		g.start(t, true)
		a := newAcks()
		if _, err := a.load(context.Background(), g, "FBok", 2, 20, 0, 0); err != nil {
			t.Fatalf("warm-up load: %v", err)
		}
		if n := a.codes()["AA"]; n != 20 {
			t.Fatalf("warm-up: %v, want 20 AA", a.codes())
		}
		c.Kill(t, 1)
		c.Kill(t, 2)
		t.Logf("brokers 1 and 2 SIGKILLed: min.insync.replicas 2 cannot be met")

		// Every message of this phase is sent after both kills: none may
		// be AA. One connection each, so every answer's latency is its
		// own wait on the producer.
		down := newAcks()
		var rest sync.WaitGroup
		for range 3 {
			rest.Go(func() { down.postPatient(context.Background(), g) })
		}
		phase := time.Now()
		rep, err := down.load(context.Background(), g, "FBdown", 10, 10, 0, 0)
		rest.Wait()
		t.Logf("while down: MLLP %v (err %v) in %s; REST statuses %v", rep, err, time.Since(phase).Round(time.Millisecond), down.restStatuses())
		if err != nil {
			t.Errorf("load while down: %v", err)
		}
		for code, n := range down.codes() {
			if code != "AR" {
				t.Errorf("%d MLLP messages answered %q while min ISR was unmet, want AR", n, code)
			}
		}
		if rep.Max > deliveryTimeout+answerMargin {
			t.Errorf("slowest answer took %s, want within delivery timeout %s + %s", rep.Max, deliveryTimeout, answerMargin)
		}
		for status, n := range down.restStatuses() {
			if status != http.StatusServiceUnavailable {
				t.Errorf("%d REST POSTs answered %d while min ISR was unmet, want 503", n, status)
			}
		}

		c.Start(t, 1) // kafka.sh up starts both
		healthy(t)
		// Recovery: the producer may need a moment to refresh metadata
		// after the cluster is whole; wait (bounded) for the first AA,
		// then every message must be AA.
		back := newAcks()
		deadline := time.Now().Add(2 * time.Minute)
		recovered := false
		for i := 0; time.Now().Before(deadline); i++ {
			probe := newAcks()
			if _, err := probe.load(context.Background(), g, fmt.Sprintf("FBp%d", i), 1, 1, 0, 0); err == nil && probe.codes()["AA"] == 1 {
				recovered = true
				for id, code := range probe.mllp {
					back.onAck(id, code)
				}
				break
			}
			time.Sleep(time.Second)
		}
		if !recovered {
			t.Fatalf("no AA within 2 minutes of the brokers' return")
		}
		rep, err = back.load(context.Background(), g, "FBback", 4, 200, 0, 0)
		if st := back.postPatient(context.Background(), g); st != http.StatusCreated {
			t.Errorf("REST POST after recovery answered %d, want 201", st)
		}
		t.Logf("after recovery: MLLP %v (err %v)", rep, err)
		if n := back.codes()["AA"]; n != 201 || err != nil {
			t.Errorf("after recovery: codes %v (err %v), want 201 AA", back.codes(), err)
		}
		for _, x := range []*acks{a, down, back} {
			checkInvariant(t, c, x)
		}
	})

	t.Run("no broker up at gateway start: readyz is not 200 and MLLP answers AR", func(t *testing.T) {
		g := writeConfig(t, freeAddrs(t, 3))
		g.start(t, false)
		if code, err := g.get("/readyz"); err != nil || code == http.StatusOK {
			t.Errorf("/readyz answered %d (%v), want not 200", code, err)
		}
		a := newAcks()
		var st int
		restDone := background(func() { st = a.postPatient(context.Background(), g) })
		rep, err := a.load(context.Background(), g, "FC", 3, 3, 0, 0)
		restDone()
		t.Logf("MLLP %v (err %v); REST %d", rep, err, st)
		if n := a.codes()["AR"]; n != 3 || err != nil {
			t.Errorf("codes %v (err %v), want 3 AR", a.codes(), err)
		}
		if rep.Max > deliveryTimeout+answerMargin {
			t.Errorf("slowest answer took %s, want within delivery timeout %s + %s", rep.Max, deliveryTimeout, answerMargin)
		}
		if st != http.StatusServiceUnavailable {
			t.Errorf("REST POST answered %d, want 503", st)
		}
		checkInvariant(t, c, a)
	})

	t.Run("gateway SIGKILLed mid-stream: after a restart nothing answered AA is missing", func(t *testing.T) {
		healthy(t)
		g := writeConfig(t, c.Brokers())
		g.start(t, true)
		a := newAcks()
		ctx, stopREST := context.WithCancel(context.Background())
		restDone := background(func() { a.restLoop(ctx, g) })
		loadDone := background(func() {
			// Errors are expected: the gateway dies under the load.
			_, _ = a.load(context.Background(), g, "FE", 4, 0, 8*time.Second, 200)
		})
		time.Sleep(3 * time.Second)
		err := g.Signal(t, syscall.SIGKILL, 30*time.Second)
		t.Logf("gateway SIGKILLed: %v", err)
		loadDone()
		stopREST()
		restDone()
		t.Logf("before restart: MLLP codes %v, REST statuses %v", a.codes(), a.restStatuses())
		if a.codes()["AA"] == 0 {
			t.Errorf("no AA before the kill: the scenario did not run mid-stream")
		}
		g.start(t, true)
		rep, err := a.load(context.Background(), g, "FEafter", 2, 50, 0, 0)
		if err != nil || rep.Codes["AA"] != 50 {
			t.Errorf("after restart: %v (err %v), want 50 AA", rep, err)
		}
		checkInvariant(t, c, a)
	})

	t.Run("gateway SIGTERMed mid-stream: it exits 0 and every AA is in Kafka", func(t *testing.T) {
		healthy(t)
		g := writeConfig(t, c.Brokers())
		g.start(t, true)
		a := newAcks()
		ctx, stopREST := context.WithCancel(context.Background())
		restDone := background(func() { a.restLoop(ctx, g) })
		loadDone := background(func() {
			_, _ = a.load(context.Background(), g, "FF", 4, 0, 8*time.Second, 200)
		})
		time.Sleep(3 * time.Second)
		// No REST request starts after the signal, and the one in flight
		// (if any) is awaited: it must be answered.
		stopREST()
		err := g.Signal(t, syscall.SIGTERM, time.Minute)
		loadDone()
		restDone()
		if n := a.restStatuses()[0]; n > 0 {
			t.Errorf("%d REST POSTs sent before SIGTERM got no answer, want every one answered", n)
		}
		codes := a.codes()
		t.Logf("gateway exit: %v; MLLP codes %v (\"\" = no answer after the listener closed); REST statuses %v", err, codes, a.restStatuses())
		if exitCode(err) != 0 {
			t.Errorf("gateway exit code %d after SIGTERM, want 0:\n%s", exitCode(err), g.Out.Tail(20))
		}
		if codes["AA"] == 0 {
			t.Errorf("no AA before SIGTERM: the scenario did not run mid-stream")
		}
		for code, n := range codes {
			if code != "AA" && code != "" {
				t.Errorf("%d messages answered %q during a graceful shutdown, want AA", n, code)
			}
		}
		if strings.Contains(g.Out.Tail(200), `"level":"ERROR"`) {
			t.Logf("gateway logged errors during shutdown:\n%s", g.Out.Tail(20))
		}
		checkInvariant(t, c, a)
	})
}
