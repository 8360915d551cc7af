package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/connectors"
)

// ErrInstanceIDInUse is returned by Join when another running process
// heartbeats the same instance id on the status topic.
var ErrInstanceIDInUse = errors.New("instance id in use by a running gateway")

// Default timings. A heartbeat every second; an instance whose heartbeat
// was not seen for Liveness is taken for gone (its id may be reused, its
// status is no longer shown).
const (
	DefaultHeartbeat = time.Second
	DefaultLiveness  = 5 * time.Second
)

// Config configures a Member.
type Config struct {
	InstanceID string
	// WorkerID is this instance's REST address (host:port), shown in
	// connector statuses as Kafka Connect's worker_id.
	WorkerID string
	// Topic is the compacted status topic (config kafka.topics.status_topic).
	Topic     string
	Heartbeat time.Duration // default DefaultHeartbeat
	Liveness  time.Duration // default DefaultLiveness
	Log       *slog.Logger
}

// Member is one gateway instance on the status topic: it reads the topic
// from the start with its own franz-go consumer (no group: every instance
// reads every record), heartbeats its instance id, and records and applies
// connector target states. Safe for concurrent use.
type Member struct {
	cfg         Config
	cl          *kgo.Client
	incarnation string
	log         *slog.Logger

	mu       sync.Mutex
	changed  chan struct{}     // closed and replaced whenever records are applied
	next     map[int32]int64   // next offset to read, per partition
	seen     map[string]seenHB // instance id -> its last heartbeat
	foreign  []claim           // records of our own id by other processes
	targets  map[string]connectors.Target
	statuses map[string]map[string]connectors.WorkerStatus // connector -> instance -> status
	joined   bool

	applyMu  sync.Mutex // orders deliveries to onTarget
	onTarget func(connector string, t connectors.Target)

	cancel context.CancelFunc
	done   chan struct{}
	hbDone chan struct{}
	closed sync.Once
}

type seenHB struct {
	hb heartbeat
	at time.Time // local time it was read
}

// claim is a heartbeat of our instance id written by another process.
type claim struct {
	partition int32
	offset    int64
	hb        heartbeat
}

// New starts a Member on a client built from opts (seed brokers, TLS, SASL,
// client id: publish.Options); it starts reading the status topic at once.
// Call Join before serving, Leave at shutdown, Close last.
func New(cfg Config, opts ...kgo.Opt) (*Member, error) {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Liveness <= 0 {
		cfg.Liveness = DefaultLiveness
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("cluster: incarnation: %w", err)
	}
	opts = append(slices.Clip(opts), kgo.ConsumeTopics(cfg.Topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(time.Second))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: status topic client: %w", err)
	}
	m := &Member{
		cfg: cfg, cl: cl, incarnation: hex.EncodeToString(b[:]), log: cfg.Log,
		changed: make(chan struct{}), next: map[int32]int64{}, seen: map[string]seenHB{},
		targets: map[string]connectors.Target{}, statuses: map[string]map[string]connectors.WorkerStatus{},
		done: make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go m.readLoop(ctx)
	return m, nil
}

// readLoop reads the status topic until ctx ends.
func (m *Member) readLoop(ctx context.Context) {
	defer close(m.done)
	for {
		fs := m.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			m.log.Debug("status topic fetch", slog.String("topic", t), slog.Int("partition", int(p)), slog.String("error", err.Error()))
		})
		var events []targetValue
		m.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			if ev, ok := m.apply(r); ok {
				events = append(events, ev)
			}
			m.next[r.Partition] = r.Offset + 1
		})
		close(m.changed)
		m.changed = make(chan struct{})
		m.mu.Unlock()
		m.deliver(events)
	}
}

// apply folds one record into the state; it returns a target change to
// deliver. m.mu is held.
func (m *Member) apply(r *kgo.Record) (targetValue, bool) {
	key := string(r.Key)
	switch {
	case strings.HasPrefix(key, prefixInstance):
		id := strings.TrimPrefix(key, prefixInstance)
		var hb heartbeat
		if len(r.Value) > 0 && json.Unmarshal(r.Value, &hb) != nil {
			return targetValue{}, false
		}
		m.seen[id] = seenHB{hb: hb, at: time.Now()}
		if id == m.cfg.InstanceID && hb.Incarnation != m.incarnation {
			m.foreign = append(m.foreign, claim{partition: r.Partition, offset: r.Offset, hb: hb})
		}
	case strings.HasPrefix(key, prefixTarget):
		var tv targetValue
		if len(r.Value) == 0 || json.Unmarshal(r.Value, &tv) != nil || tv.Connector == "" {
			return targetValue{}, false
		}
		m.targets[tv.Connector] = tv.Target
		return tv, true
	case strings.HasPrefix(key, prefixStatus):
		conn, inst, ok := splitStatusKey(key)
		if !ok {
			return targetValue{}, false
		}
		var sv statusValue
		if len(r.Value) == 0 || json.Unmarshal(r.Value, &sv) != nil {
			delete(m.statuses[conn], inst)
			return targetValue{}, false
		}
		if m.statuses[conn] == nil {
			m.statuses[conn] = map[string]connectors.WorkerStatus{}
		}
		m.statuses[conn][inst] = sv.Status
	}
	return targetValue{}, false
}

// deliver hands target changes to the subscriber, in topic order.
func (m *Member) deliver(events []targetValue) {
	if len(events) == 0 {
		return
	}
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	if m.onTarget == nil {
		return
	}
	for _, ev := range events {
		m.onTarget(ev.Connector, ev.Target)
	}
}

// Subscribe calls f with every connector target state read so far and then
// with each one read later, in topic order, one call at a time.
func (m *Member) Subscribe(f func(connector string, t connectors.Target)) {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.mu.Lock()
	snap := make(map[string]connectors.Target, len(m.targets))
	for k, v := range m.targets {
		snap[k] = v
	}
	m.mu.Unlock()
	m.onTarget = f
	for _, k := range slices.Sorted(maps.Keys(snap)) {
		f(k, snap[k])
	}
}

// catchUp waits until every record written to the topic before the call
// has been read, bounded by ctx.
func (m *Member) catchUp(ctx context.Context) (map[int32]int64, error) {
	ends, err := endOffsets(ctx, m.cl, m.cfg.Topic)
	if err != nil {
		return nil, err
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
	for p, off := range want {
		if err := m.waitRead(ctx, p, off); err != nil {
			return nil, err
		}
	}
	return want, nil
}

// waitRead waits until the record before offset off of partition p is read.
func (m *Member) waitRead(ctx context.Context, p int32, off int64) error {
	for {
		m.mu.Lock()
		got, ch := m.next[p], m.changed
		m.mu.Unlock()
		if got >= off {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cluster: reading %s partition %d to offset %d (at %d): %w", m.cfg.Topic, p, off, got, ctx.Err())
		}
	}
}

// Close stops reading and heartbeating and closes the client; it writes
// nothing (Leave does). Safe to call more than once.
func (m *Member) Close() {
	m.closed.Do(func() {
		m.cancel()
		<-m.done
		m.mu.Lock()
		hb := m.hbDone
		m.mu.Unlock()
		if hb != nil {
			<-hb
		}
		m.cl.Close()
	})
}

// Joined reports whether Join succeeded.
func (m *Member) Joined() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.joined
}

// Incarnation is random per process start; tests and logs use it.
func (m *Member) Incarnation() string { return m.incarnation }

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// endOffsets lists topic's end offsets, retrying while the cluster is
// still learning of a topic just created (a broker that does not host it
// yet answers UNKNOWN_TOPIC_OR_PARTITION) or electing leaders, until ctx
// ends.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string) (kadm.ListedOffsets, error) {
	adm := kadm.NewClient(cl)
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err == nil {
			return ends, nil
		}
		if !kerr.IsRetriable(err) && !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return nil, fmt.Errorf("cluster: end offsets of %s: %w", topic, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: end offsets of %s: %w (%w)", topic, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
