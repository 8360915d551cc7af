package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/doctor"
	"github.com/hl7gw/gateway/test/kafka/kafkatest"
)

// TestKilledBrokerComesBackWithUp kills one of three brokers: acks=all
// writes to an RF 3 / min.insync.replicas 2 topic still succeed, doctor sees
// the under-replicated partitions, and `kafka.sh up` (run again) restarts
// only the dead node, after which the ISR is full and doctor is all ok.
func TestKilledBrokerComesBackWithUp(t *testing.T) {
	c := need(t)
	const topic = "hl7.oru.r01"
	durableTopic(t, c, topic)
	pids := []int{c.PID(0), c.PID(1), c.PID(2)}
	cl := c.Client(t, kafkatest.Admin, kgo.RecordDeliveryTimeout(60*time.Second))
	produce := func(n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for i := 0; i < n; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("MSH|probe")}).FirstErr(); err != nil {
				t.Fatalf("acks=all produce: %v", err)
			}
		}
	}
	produce(10)

	c.Kill(t, 2)
	if c.Running(2) {
		t.Fatal("node 2 still running after Kill")
	}
	produce(10)
	k := gatewayConfig(c, config.SASLPlain)
	k.Brokers = c.Brokers()[:2]
	deadline := time.Now().Add(45 * time.Second)
	var rep doctor.Report
	for {
		rep = runDoctor(k, topic)
		s, _ := rep.Step("topic " + topic)
		if s.Verdict == doctor.Warn && strings.Contains(s.Detail, "under-replicated") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("doctor never saw the under-replicated topic:\n%s", rep.Table())
		}
		time.Sleep(500 * time.Millisecond)
	}

	c.Start(t, 2)
	if c.PID(0) != pids[0] || c.PID(1) != pids[1] || c.PID(2) == pids[2] {
		t.Fatalf("up restarted the wrong nodes: pids before %v, after %d %d %d", pids, c.PID(0), c.PID(1), c.PID(2))
	}
	c.WaitHealthy(t, 90*time.Second, topic)
	produce(10)
	rep = runDoctor(gatewayConfig(c, config.SASLPlain), topic)
	if rep.Failed() {
		t.Fatalf("after recovery:\n%s", rep.Table())
	}
	for _, s := range rep.Steps {
		if s.Verdict != doctor.OK {
			t.Errorf("after recovery, step %s = %s: %s", s.Name, s.Verdict, s.Detail)
		}
	}

	// up with every node running starts nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.StartContext(ctx); err != nil {
		t.Fatal(err)
	}
	if c.PID(2) == pids[2] || !c.Running(0) || !c.Running(1) || !c.Running(2) || c.PID(0) != pids[0] {
		t.Fatal("an idempotent up changed running nodes")
	}
}
