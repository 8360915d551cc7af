package publish

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A transaction whose records cannot be written while the coordinator can
// neither end it nor give a replacement client a producer id (a broker
// outage in the middle of a transaction) used to be answered only after
// the abort and the replacement had each waited their own bound: three
// times the publish bound, long after REST clients had given up. And the
// next transaction on the replaced client blocked in BeginTransaction,
// which loads the missing producer id without any bound of ours. Both now
// answer within the bound while the slot settles in the background; Flush
// waits for that, and nothing of the failed transactions is ever visible.
func TestAtomicPublishAnswersWithinTheBoundWhenTheCoordinatorIsAway(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "a", "b"))
	k := testKafka()
	k.Producer.DeliveryTimeout = 2 * time.Second
	k.Producer.RequestTimeout = time.Second
	k.Producer.TransactionalProducers = 1
	bound := k.Producer.DeliveryTimeout + k.Producer.RequestTimeout
	p := newProducer(t, k, c, prometheus.NewRegistry())
	ctx := context.Background()
	if _, err := p.Publish(ctx, []*kgo.Record{rec("a", "P1", "ok1"), rec("b", "P1", "ok2")}, true); err != nil {
		t.Fatal(err)
	}

	outage := c.Fault(
		kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: -1},
		kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn, kmsg.InitProducerID}, Err: kerr.CoordinatorNotAvailable, Count: -1},
	)
	publishWithin := func(what string, recs ...*kgo.Record) {
		t.Helper()
		start := time.Now()
		_, err := p.Publish(ctx, recs, true)
		took := time.Since(start)
		if err == nil {
			t.Fatalf("%s reported success during the outage", what)
		}
		if took > bound+1500*time.Millisecond {
			t.Errorf("%s answered after %s, want within the publish bound %s (+1.5s)", what, took.Round(time.Millisecond), bound)
		}
	}
	publishWithin("a transaction whose records were refused", rec("a", "P2", "lost1"), rec("b", "P2", "lost2"))
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := p.Flush(short); err == nil {
		t.Errorf("Flush returned while the failed transaction was still ending")
	}
	long, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Flush(long); err != nil {
		t.Fatalf("Flush during the outage: %v", err)
	}
	publishWithin("a transaction on the replaced client", rec("a", "P3", "lost3"), rec("b", "P3", "lost4"))

	outage.Remove()
	if err := p.Flush(long); err != nil {
		t.Fatalf("Flush after the outage: %v", err)
	}
	if _, err := p.Publish(ctx, []*kgo.Record{rec("a", "P4", "ok3"), rec("b", "P4", "ok4")}, true); err != nil {
		t.Fatalf("transaction after the outage: %v", err)
	}
	var seen []string
	for _, tp := range []string{"a", "b"} {
		if _, err := p.Publish(ctx, []*kgo.Record{rec(tp, "z", "stop")}, false); err != nil {
			t.Fatal(err)
		}
		for _, r := range readCommitted(t, c, "stop", tp) {
			seen = append(seen, string(r.Value))
		}
	}
	if got := strings.Join(sortStrings(seen), ","); got != "ok1,ok2,ok3,ok4" {
		t.Errorf("read_committed saw %s, want ok1,ok2,ok3,ok4", got)
	}
}
