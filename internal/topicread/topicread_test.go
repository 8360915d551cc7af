package topicread

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// recorder is a testing.TB that records Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

// broker is a kfake broker holding three records on "plain" and, on "tx",
// one committed transaction of two records and one aborted of one.
func broker(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "plain", "tx", "empty"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 3 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "plain", Value: fmt.Appendf(nil, "p%d", i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.TransactionalID("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	for _, commit := range []kgo.TransactionEndTry{kgo.TryCommit, kgo.TryAbort} {
		if err := tx.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		n := 2
		if !commit {
			n = 1
		}
		for i := range n {
			if err := tx.ProduceSync(ctx, &kgo.Record{Topic: "tx", Value: fmt.Appendf(nil, "t%v%d", bool(commit), i)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	return addrs
}

func TestReadingBack(t *testing.T) {
	brokers := broker(t)
	tests := []struct {
		name     string
		read     func(tb testing.TB) []*kgo.Record
		want     int
		wantFail bool
	}{
		{"N returns once n records are read", func(tb testing.TB) []*kgo.Record { return N(tb, brokers, 3, "plain") }, 3, false},
		{"For sees only committed transactions", func(tb testing.TB) []*kgo.Record { return For(tb, brokers, time.Second, "tx") }, 2, false},
		{"For reads several topics", func(tb testing.TB) []*kgo.Record { return For(tb, brokers, time.Second, "plain", "tx") }, 5, false},
		{"ToEnd reads a topic to its end offsets", func(tb testing.TB) []*kgo.Record { return ToEnd(tb, brokers, "plain") }, 3, false},
		{"ToEnd of an empty topic is nothing", func(tb testing.TB) []*kgo.Record { return ToEnd(tb, brokers, "empty") }, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			got := tt.read(r)
			if r.failed != "" || len(got) != tt.want {
				t.Fatalf("%d records (failure %q), want %d", len(got), r.failed, tt.want)
			}
		})
	}
}

func TestNFailsWhenTooFewArrive(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for Timeout")
	}
	brokers := broker(t)
	r := &recorder{TB: t}
	if got := N(r, brokers, 4, "plain"); len(got) != 3 || r.failed == "" {
		t.Fatalf("N = %d records, failure %q; want 3 and a failure", len(got), r.failed)
	}
}
