package publish

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A process that dies inside a transaction leaves it open, and until it
// ends read_committed consumers see nothing past its first record. A new
// producer with the same transactional ids ends it at start with
// InitTransactions, not at its first Bundle nor after the transaction
// timeout.
func TestInitTransactionsAbortsWhatADeadProcessLeftOpen(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "a"))
	k := testKafka()
	k.Producer.TransactionalProducers = 1

	// The dead process: a transaction begun on the first id, a record
	// produced in it, never ended, and the client gone.
	dead, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID(k.Producer.TransactionalIDPrefix+"-0"),
		kgo.TransactionTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := dead.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := dead.ProduceSync(ctx, rec("a", "P0", "left open")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	dead.Close() // no EndTransaction: as SIGKILL leaves it

	p := newProducer(t, k, c, prometheus.NewRegistry())
	if err := p.InitTransactions(ctx); err != nil {
		t.Fatalf("InitTransactions: %v", err)
	}
	// An idempotent record after it is readable only once the open
	// transaction has ended; the record left open must never show.
	if _, err := p.Publish(ctx, []*kgo.Record{rec("a", "P1", "after")}, false); err != nil {
		t.Fatal(err)
	}
	if got := readCommitted(t, c, "after", "a"); len(got) != 0 {
		t.Fatalf("read_committed saw %d records of the aborted transaction, first %q", len(got), got[0].Value)
	}
}
