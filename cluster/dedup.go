package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/pipeline"
)

// DedupLog is the memory of stored HL7 messages shared by the gateway
// instances (hl7.SharedMemory): one record per stored message on a
// compacted topic (kafka.topics.dedup_topic) that every instance reads from
// the start with its own consumer. The record key is the SHA-256 of the
// connector, MSH-3, MSH-4 and MSH-10, so no message field appears in Kafka
// keys; the value carries the content sum, the first copy's coordinates
// and the expiry. Entries past their expiry are ignored and dropped from
// memory; the topic deletes them by retention (cleanup.policy
// compact,delete). Safe for concurrent use.
type DedupLog struct {
	topic    string
	instance string
	cl       *kgo.Client
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	entries map[string]dedupRecord
	next    map[int32]int64
	changed chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
	closed sync.Once
}

// dedupRecord is the value of a dedup record.
type dedupRecord struct {
	Sum        string              `json:"sum"` // hex SHA-256 of the message without MSH-7
	Deliveries []pipeline.Delivery `json:"deliveries"`
	Expires    int64               `json:"expires"` // Unix milliseconds
	By         string              `json:"by"`      // the instance that stored the first copy
}

// NewDedupLog starts reading topic from the start on a client built from
// opts (publish.Options). Call CatchUp before serving and Close last.
func NewDedupLog(topic, instanceID string, log *slog.Logger, opts ...kgo.Opt) (*DedupLog, error) {
	opts = append(slices.Clip(opts), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(time.Second))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: dedup topic client: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &DedupLog{topic: topic, instance: instanceID, cl: cl, log: log, now: time.Now, entries: map[string]dedupRecord{},
		next: map[int32]int64{}, changed: make(chan struct{}), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go d.readLoop(ctx)
	return d, nil
}

func (d *DedupLog) readLoop(ctx context.Context) {
	defer close(d.done)
	sweep := time.Now()
	for {
		fs := d.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			d.log.Debug("dedup topic fetch", slog.String("topic", t), slog.Int("partition", int(p)), slog.String("error", err.Error()))
		})
		now := d.now()
		d.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			d.next[r.Partition] = r.Offset + 1
			var v dedupRecord
			if len(r.Value) == 0 || json.Unmarshal(r.Value, &v) != nil || now.UnixMilli() >= v.Expires {
				delete(d.entries, string(r.Key))
				return
			}
			d.entries[string(r.Key)] = v
		})
		if now.Sub(sweep) > time.Minute {
			sweep = now
			for k, v := range d.entries {
				if now.UnixMilli() >= v.Expires {
					delete(d.entries, k)
				}
			}
		}
		close(d.changed)
		d.changed = make(chan struct{})
		d.mu.Unlock()
	}
}

// CatchUp waits until every record written before the call has been
// read, bounded by ctx, so that a restarted instance remembers what the
// others stored.
func (d *DedupLog) CatchUp(ctx context.Context) error {
	ends, err := endOffsets(ctx, d.cl, d.topic)
	if err != nil {
		return err
	}
	for _, o := range ends.Offsets().Sorted() {
		for {
			d.mu.Lock()
			got, ch := d.next[o.Partition], d.changed
			d.mu.Unlock()
			if got >= o.At {
				break
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return fmt.Errorf("cluster: reading %s partition %d to offset %d (at %d): %w", d.topic, o.Partition, o.At, got, ctx.Err())
			}
		}
	}
	return nil
}

func dedupKey(key string) []byte {
	s := sha256.Sum256([]byte(key))
	return []byte(hex.EncodeToString(s[:]))
}

// Lookup returns the remembered sum and deliveries of key, unless expired.
func (d *DedupLog) Lookup(key string) (sum [sha256.Size]byte, out []pipeline.Delivery, ok bool) {
	d.mu.Lock()
	v, found := d.entries[string(dedupKey(key))]
	d.mu.Unlock()
	if !found || d.now().UnixMilli() >= v.Expires {
		return sum, nil, false
	}
	b, err := hex.DecodeString(v.Sum)
	if err != nil || len(b) != sha256.Size {
		return sum, nil, false
	}
	copy(sum[:], b)
	return sum, slices.Clone(v.Deliveries), true
}

// Remember writes key's record (idempotent producer, acks=all) and also
// keeps it here at once; it returns once the broker has it or fails.
func (d *DedupLog) Remember(ctx context.Context, key string, sum [sha256.Size]byte, out []pipeline.Delivery, window time.Duration) error {
	v := dedupRecord{Sum: hex.EncodeToString(sum[:]), Deliveries: out, Expires: d.now().Add(window).UnixMilli(), By: d.instance}
	k := dedupKey(key)
	d.mu.Lock()
	d.entries[string(k)] = v
	d.mu.Unlock()
	if err := produce(ctx, d.cl, &kgo.Record{Topic: d.topic, Key: k, Value: mustJSON(v)}); err != nil {
		return fmt.Errorf("cluster: remember in %s: %w", d.topic, err)
	}
	return nil
}

// Len is the number of messages remembered (expired ones not yet swept
// included).
func (d *DedupLog) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.entries)
}

// Close stops reading and closes the client. Safe to call more than once.
func (d *DedupLog) Close() {
	d.closed.Do(func() {
		d.cancel()
		<-d.done
		d.cl.Close()
	})
}
