// Package topicread is how tests read back what the gateway wrote to
// Kafka (an embedded kfake broker or a real cluster): from the start of
// each topic, committed records only (read_committed, so a transaction
// aborted or still open is not seen), with the test failed rather than an
// error returned. It is for tests only; nothing on the data path imports
// it.
package topicread

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Timeout bounds N and ToEnd.
const Timeout = 15 * time.Second

// client is a read_committed consumer of topics from their start.
func client(tb testing.TB, brokers []string, topics ...string) *kgo.Client {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		tb.Fatalf("topicread: client: %v", err)
	}
	return cl
}

// N reads committed records of topics until it has at least n, and
// returns all it read (a fetch may bring more than n). Fewer than n within
// Timeout fails the test.
func N(tb testing.TB, brokers []string, n int, topics ...string) []*kgo.Record {
	tb.Helper()
	cl := client(tb, brokers, topics...)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			tb.Fatalf("topicread: %v: %d committed records after %v, want %d", topics, len(recs), Timeout, n)
			return recs
		}
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	return recs
}

// For reads committed records of topics for d and returns them all: what
// a test uses to show that no more arrive.
func For(tb testing.TB, brokers []string, d time.Duration, topics ...string) []*kgo.Record {
	tb.Helper()
	cl := client(tb, brokers, topics...)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var recs []*kgo.Record
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	return recs
}

// ToEnd reads every record topic holds up to the end offsets it has now,
// committed or not (read_uncommitted), and fails the test when they are
// not read within Timeout. It counts records against offsets, so it is for
// topics written without transactions, whose markers take offsets no
// record fills; For serves the others.
func ToEnd(tb testing.TB, brokers []string, topic string) []*kgo.Record {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		tb.Fatalf("topicread: client: %v", err)
		return nil
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		tb.Fatalf("topicread: end offsets of %s: %v", topic, err)
		return nil
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	var recs []*kgo.Record
	for int64(len(recs)) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			tb.Fatalf("topicread: %s: %d records after %v, want %d", topic, len(recs), Timeout, want)
			return recs
		}
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	return recs
}
