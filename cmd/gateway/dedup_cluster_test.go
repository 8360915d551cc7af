package main

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/internal/metrictest"
	"github.com/hl7gw/gateway/internal/sendonce"
	"github.com/hl7gw/gateway/internal/testwait"
	"github.com/hl7gw/gateway/internal/topicread"
)

// clusterDedupPair is two gateways on one broker whose MLLP connector "adt"
// shares its duplicate memory (hl7.dedup.scope=cluster).
func clusterDedupPair(t *testing.T) (a, b *gateway, brokers []string) {
	t.Helper()
	brokers = sharedBroker(t)
	mk := func() *gateway {
		cfg := testConfig(brokers...)
		cfg.Connectors = []config.Connector{mllpConnector(map[string]string{"hl7.dedup.enabled": "true", "hl7.dedup.scope": "cluster"})}
		g, _ := startGateway(t, cfg)
		return g
	}
	return mk(), mk(), brokers
}

// withControlID is the ADT sample with MSH-10 replaced.
func withControlID(msg []byte, id string) []byte {
	return bytes.Replace(msg, []byte("|MSG00001|"), []byte("|"+id+"|"), 1)
}

func suppressed(t *testing.T, g *gateway) float64 {
	return metrictest.Value(t, g.reg, "gateway_hl7_duplicates_total", map[string]string{"connector": "adt", "result": "suppressed"})
}

func TestAResendLandingOnAnotherInstanceIsAnsweredAAWithoutASecondRecord(t *testing.T) {
	a, b, brokers := clusterDedupPair(t)
	msg := withControlID(adtA01(t), "RESEND-1")
	known := b.dedupLog.Len()
	if got := sendonce.ACK(t, a.mllpAddr(), msg).Code; got != "AA" {
		t.Fatalf("first copy on A: %s", got)
	}
	// An engine resends after its ACK timeout, seconds later; by then B has
	// read A's memory record. Wait for that rather than for a fixed time:
	// the window before it is TestTheWindowInWhichTwoCopies...'s.
	testwait.For(t, 10*time.Second, "B reads A's memory record", func() bool { return b.dedupLog.Len() > known })
	if got := sendonce.ACK(t, b.mllpAddr(), msg).Code; got != "AA" {
		t.Fatalf("resend on B: %s", got)
	}
	if n := suppressed(t, b); n != 1 {
		t.Errorf("B suppressed %v, want 1", n)
	}
	if recs := topicread.ToEnd(t, brokers, "hl7.adt.a01"); len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	// Other content under the same control id is published, never dropped.
	changed := bytes.Replace(msg, []byte("EVERYMAN"), []byte("EVERYWOMAN"), 1)
	if got := sendonce.ACK(t, b.mllpAddr(), changed).Code; got != "AA" {
		t.Fatalf("other content on B: %s", got)
	}
	if recs := topicread.ToEnd(t, brokers, "hl7.adt.a01"); len(recs) != 2 {
		t.Fatalf("%d records after a conflicting message, want 2", len(recs))
	}
}

// TestTheWindowInWhichTwoCopiesOnTwoInstancesAreBothStored sends one copy
// to A and, after a delay, one to B, for growing delays. Below the window
// (A's publish, the write of its memory record, B reading it) both copies
// can be stored; past it the second is always suppressed. The README quotes
// the figures this logs.
func TestTheWindowInWhichTwoCopiesOnTwoInstancesAreBothStored(t *testing.T) {
	a, b, _ := clusterDedupPair(t)
	msg := adtA01(t)
	const trials = 8
	delays := []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 200 * time.Millisecond}
	var report []string
	for _, d := range delays {
		before := suppressed(t, a) + suppressed(t, b)
		for i := range trials {
			m := withControlID(msg, fmt.Sprintf("W%d-%d", d.Milliseconds(), i))
			var wg sync.WaitGroup
			wg.Go(func() { _ = sendonce.ACK(t, a.mllpAddr(), m).Code })
			time.Sleep(d)
			wg.Go(func() { _ = sendonce.ACK(t, b.mllpAddr(), m).Code })
			wg.Wait()
		}
		both := trials - int(suppressed(t, a)+suppressed(t, b)-before)
		report = append(report, fmt.Sprintf("%s: %d/%d stored twice", d, both, trials))
		if d >= 200*time.Millisecond && both > 0 {
			t.Errorf("copies %s apart were both stored %d times of %d", d, both, trials)
		}
	}
	t.Logf("two copies on two instances, by delay between them: %v", report)
}
