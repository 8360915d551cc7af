package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// createTopics creates topics with the given partitions, replication factor
// 3 and min.insync.replicas 2 (existing ones are left as they are, so a
// kept cluster can be reused), then waits until every partition has a
// leader and a full ISR.
func createTopics(ctx context.Context, brokers []string, partitions int, topics ...string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ClientID("soak-admin"))
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	minISR := "2"
	res, err := adm.CreateTopics(ctx, int32(partitions), 3, map[string]*string{"min.insync.replicas": &minISR}, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, r := range res.Sorted() {
		if r.Err != nil && !strings.Contains(r.Err.Error(), "TOPIC_ALREADY_EXISTS") {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		why := topicsHealthy(ctx, adm, topics)
		if why == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics not ready: %s", why)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// topicsHealthy returns "" when every partition of topics has a leader and
// all replicas in sync, else why not.
func topicsHealthy(ctx context.Context, adm *kadm.Client, topics []string) string {
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return err.Error()
	}
	for _, td := range md.Topics {
		if td.Err != nil {
			return fmt.Sprintf("%s: %v", td.Topic, td.Err)
		}
		for _, p := range td.Partitions {
			if p.Err != nil || p.Leader < 0 || len(p.ISR) < len(p.Replicas) {
				return fmt.Sprintf("%s[%d]: leader %d isr %v replicas %v", td.Topic, p.Partition, p.Leader, p.ISR, p.Replicas)
			}
		}
	}
	return ""
}

// checkTopic reads topic from the start to its end offsets as of the call
// (read_committed) and hands each record's hl7.control_id header to l. It
// returns the number of records read. A partition whose last offset is a
// transaction marker never shows a record at end-1, so reading also stops
// after idle without any record; the ledger then shows what was missed.
func checkTopic(ctx context.Context, brokers []string, topic string, l *ledger, idle time.Duration) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ClientID("soak-check"),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return 0, fmt.Errorf("consumer: %w", err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("end offsets: %w", err)
	}
	if err := ends.Error(); err != nil {
		return 0, fmt.Errorf("end offsets: %w", err)
	}
	pending := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			pending[o.Partition] = o.Offset
		}
	})
	records := 0
	for len(pending) > 0 {
		pctx, cancel := context.WithTimeout(ctx, idle)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return records, fmt.Errorf("check %s: %w", topic, ctx.Err())
		}
		if pctx.Err() != nil && fs.NumRecords() == 0 {
			break
		}
		var fetchErr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				fetchErr = fmt.Errorf("fetch %s[%d]: %w", t, p, err)
			}
		})
		if fetchErr != nil {
			return records, fetchErr
		}
		fs.EachRecord(func(r *kgo.Record) {
			records++
			id := ""
			for _, h := range r.Headers {
				if h.Key == "hl7.control_id" {
					id = string(h.Value)
					break
				}
			}
			l.found(id)
			if end, ok := pending[r.Partition]; ok && r.Offset+1 >= end {
				delete(pending, r.Partition)
			}
		})
	}
	return records, nil
}
