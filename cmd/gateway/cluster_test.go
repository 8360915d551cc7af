package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hl7gw/gateway/cluster"
	"github.com/hl7gw/gateway/connectors"
	"github.com/hl7gw/gateway/internal/fhirgen"
	"github.com/hl7gw/gateway/internal/sendonce"
	"github.com/hl7gw/gateway/internal/testwait"
	"github.com/hl7gw/gateway/internal/topicread"
)

// sharedBroker is one Kafka-protocol broker over TCP for several gateways,
// with the data topics the tests write.
func sharedBroker(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.SeedTopics(3, "fhir.patient.created", "hl7.adt.a01", "hl7.dlq", "fhir.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func postBundle(ctx context.Context, base, tag string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/fhir", bytes.NewReader(fhirgen.PatientTransaction(tag+"-", 3, "Txn")))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// fencingWords are what a fenced or replaced transactional producer logs.
var fencingWords = []string{"fenc", "INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "replacing kafka transactional client", "transaction aborted"}

func TestTwoGatewaysWithOnlyPortsChangedRunTransactionBundlesConcurrentlyWithoutFencing(t *testing.T) {
	brokers := sharedBroker(t)
	a, logsA := startGateway(t, testConfig(brokers...))
	b, logsB := startGateway(t, testConfig(brokers...))
	if a.instanceID == b.instanceID {
		t.Fatalf("both gateways derived instance id %s", a.instanceID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const perSender, senders = 15, 4 // 4 senders per gateway: every pooled transactional id busy on both
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		bad []string
	)
	for gi, g := range []*gateway{a, b} {
		base := g.opsURL(t)
		for s := range senders {
			wg.Go(func() {
				for n := range perSender {
					tag := fmt.Sprintf("G%dS%dN%d", gi, s, n)
					code, err := postBundle(ctx, base, tag)
					if err != nil || code != http.StatusOK {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("%s: %d %v", tag, code, err))
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("%d of %d Bundles not answered 200: %v", len(bad), 2*senders*perSender, bad)
	}
	for name, logs := range map[string]string{"A": logsA.String(), "B": logsB.String()} {
		for _, w := range fencingWords {
			if strings.Contains(logs, w) {
				t.Errorf("gateway %s logged %q", name, w)
			}
		}
	}
	recs := topicread.N(t, brokers, 2*senders*perSender*3, "fhir.patient.created")
	t.Logf("%d Patient records from %d Bundles on two instances (%s, %s)", len(recs), 2*senders*perSender, a.instanceID, b.instanceID)
	for _, g := range []*gateway{a, b} {
		_, metrics := httpDo(t, http.MethodGet, g.opsURL(t)+"/metrics")
		if want := `gateway_instance_info{instance_id="` + g.instanceID + `"} 1`; !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(logsA.String(), `"instance_id":"`+a.instanceID+`"`) {
		t.Error("gateway A's log lines do not carry its instance_id")
	}
}

func TestTheSameExplicitInstanceIDTwiceIsRefusedAndFreeAgainAfterACleanStop(t *testing.T) {
	brokers := sharedBroker(t)
	cfg := testConfig(brokers...)
	cfg.InstanceID = "gw-same"
	a, _ := startGateway(t, cfg)

	other, err := start(context.Background(), testConfig(brokers...), discardLog())
	if err != nil {
		t.Fatalf("a gateway with a derived id did not start next to gw-same: %v", err)
	}
	defer other.shutdown(context.Background())
	began := time.Now()
	g2, err := start(context.Background(), cfg, discardLog())
	if err == nil {
		_ = g2.shutdown(context.Background())
		t.Fatal("a second gateway with instance id gw-same started")
	}
	if !errors.Is(err, cluster.ErrInstanceIDInUse) || !strings.Contains(err.Error(), "gw-same") {
		t.Fatalf("second start: %v, want ErrInstanceIDInUse naming gw-same", err)
	}
	t.Logf("refused after %s: %v", time.Since(began).Round(time.Millisecond), err)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	g3, err := start(ctx, cfg, discardLog())
	if err != nil {
		t.Fatalf("gw-same after the first one stopped cleanly: %v", err)
	}
	defer g3.shutdown(context.Background())
	if d := time.Since(began); d > cluster.DefaultLiveness {
		t.Errorf("restart after a clean stop took %s: it waited for a liveness timeout it should not need", d)
	}
}

// untilAnswer sends to addr until the ACK code is want, and returns how
// long that took from since; it fails past bound.
func untilAnswer(t *testing.T, addr string, msg []byte, want string, since time.Time, bound time.Duration) time.Duration {
	t.Helper()
	for {
		if sendonce.ACK(t, addr, msg).Code == want {
			return time.Since(since)
		}
		if time.Since(since) > bound {
			t.Fatalf("%s still not answered %s after %s", addr, want, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pauseBound is the stated bound for a pause, resume or restart on one
// instance to reach every other (README, Deployment).
const pauseBound = 2 * time.Second

func TestPauseOnOneInstanceStopsTheOtherAndResumeOnTheOtherRestartsTheFirst(t *testing.T) {
	brokers := sharedBroker(t)
	a, _ := startGateway(t, testConfig(brokers...))
	b, _ := startGateway(t, testConfig(brokers...))
	msg := adtA01(t)
	if sendonce.ACK(t, a.mllpAddr(), msg).Code != "AA" || sendonce.ACK(t, b.mllpAddr(), msg).Code != "AA" {
		t.Fatal("not both instances accept before the pause")
	}

	began := time.Now()
	if code, body := httpDo(t, http.MethodPut, a.opsURL(t)+"/connectors/hl7-mllp/pause"); code != http.StatusAccepted {
		t.Fatalf("pause on A: %d %s", code, body)
	}
	if got := sendonce.ACK(t, a.mllpAddr(), msg).Code; got != "AR" {
		t.Fatalf("A answers %s right after its own pause, want AR", got)
	}
	paused := untilAnswer(t, b.mllpAddr(), msg, "AR", began, pauseBound)

	testwait.For(t, 10*time.Second, "A's status shows both instances' tasks PAUSED", func() bool {
		st := connectorStatus(t, a.opsURL(t), "hl7-mllp")
		workers := map[string]string{}
		for _, tk := range st.Tasks {
			workers[tk.InstanceID] = tk.State
		}
		return st.Connector.State == connectors.StatePaused && len(st.Tasks) == 2 &&
			workers[a.instanceID] == connectors.StatePaused && workers[b.instanceID] == connectors.StatePaused
	})

	began = time.Now()
	if code, body := httpDo(t, http.MethodPut, b.opsURL(t)+"/connectors/hl7-mllp/resume"); code != http.StatusAccepted {
		t.Fatalf("resume on B: %d %s", code, body)
	}
	resumed := untilAnswer(t, a.mllpAddr(), msg, "AA", began, pauseBound)
	t.Logf("pause on A reached B in %s; resume on B reached A in %s (bound %s)", paused.Round(time.Millisecond), resumed.Round(time.Millisecond), pauseBound)

	// A third instance started now learns the state from the topic.
	if code, body := httpDo(t, http.MethodPut, a.opsURL(t)+"/connectors/hl7-mllp/pause"); code != http.StatusAccepted {
		t.Fatalf("pause on A: %d %s", code, body)
	}
	c, _ := startGateway(t, testConfig(brokers...))
	if got := sendonce.ACK(t, c.mllpAddr(), msg).Code; got != "AR" {
		t.Errorf("an instance started after the pause answers %s, want AR", got)
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func connectorStatus(t *testing.T, base, name string) connectors.Status {
	t.Helper()
	code, body := httpDo(t, http.MethodGet, base+"/connectors/"+name+"/status")
	var st connectors.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != http.StatusOK {
		t.Fatalf("status: %d %q (%v)", code, body, err)
	}
	return st
}

func TestAGatewayStartedBeforeItsBrokerIsNotReadyUntilItJoins(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	began := time.Now()
	g, _ := startGateway(t, testConfig(fmt.Sprintf("127.0.0.1:%d", port)))
	t.Logf("started without a broker in %s", time.Since(began).Round(time.Millisecond))
	if code, body := httpDo(t, http.MethodGet, g.opsURL(t)+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz without a broker: %d %s", code, body)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(3, "hl7.adt.a01", "hl7.dlq", "fhir.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	began = time.Now()
	testwait.For(t, 10*time.Second, "the gateway joins and becomes ready once the broker is up", func() bool {
		code, _ := httpDo(t, http.MethodGet, g.opsURL(t)+"/readyz")
		return code == http.StatusOK && g.member.Joined()
	})
	t.Logf("ready %s after the broker came up", time.Since(began).Round(time.Millisecond))
	if got := sendonce.ACK(t, g.mllpAddr(), adtA01(t)).Code; got != "AA" {
		t.Errorf("after joining: %s, want AA", got)
	}
}
