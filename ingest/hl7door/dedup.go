package hl7door

import (
	"context"
	"crypto/sha256"
	"github.com/hl7gw/gateway/hl7"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hl7gw/gateway/pipeline"
)

// Duplicate results, the `result` label of gateway_hl7_duplicates_total.
const (
	// DupSuppressed: a resend of a message already stored; answered AA
	// again, no second record.
	DupSuppressed = "suppressed"
	// DupConflict: same sender and control id as a stored message but other
	// content; published as a new message (never dropped) and counted.
	DupConflict = "conflict"
	// DupEvicted: an entry dropped before its window ended because the
	// cache was full; a resend of it would be published again.
	DupEvicted = "evicted"
	// DupNotShared: a stored message that could not be written to the
	// shared memory (DedupConfig.Shared); a resend reaching another
	// instance would be published again.
	DupNotShared = "not_shared"
)

// SharedMemory is a memory of stored messages that several gateway
// instances share (package cluster keeps it in a compacted Kafka topic
// every instance reads), so that a resend reaching another instance finds
// the first copy. Keys are opaque strings; sums are contentSum.
type SharedMemory interface {
	// Lookup returns what is remembered under key and has not expired.
	Lookup(key string) (sum [sha256.Size]byte, out []pipeline.Delivery, ok bool)
	// Remember stores sum and the first copy's deliveries under key for
	// window; it returns once stored, or fails.
	Remember(ctx context.Context, key string, sum [sha256.Size]byte, out []pipeline.Delivery, window time.Duration) error
}

// DedupConfig configures duplicate suppression.
type DedupConfig struct {
	// Window is how long a stored message is remembered (default 10m).
	Window time.Duration
	// MaxEntries bounds the memory used (default 100000, about 200 bytes
	// each); past it the oldest entries are forgotten early.
	MaxEntries int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Shared, when set, is consulted when this process remembers nothing
	// for a message, and every stored message is also remembered there
	// before it is answered (hl7.dedup.scope=cluster).
	Shared SharedMemory
}

// Dedup remembers, for a window, the messages a door has stored, so that a
// sender's resend (after a lost ACK, a timeout, a reconnect) is answered
// AA again without a second record in Kafka.
//
// A message is a duplicate of a stored one when its sending application
// (MSH-3), sending facility (MSH-4) and control id (MSH-10) are equal AND
// its bytes are equal except for MSH-7 (the time of the message, which
// some engines regenerate on resend). Control ids are unique per sending
// system, not per facility, so MSH-3 is part of the key; and the content
// check means that a sender reusing control ids (a counter reset after a
// restart) has its new messages published, not dropped: that is counted as
// a conflict. Only accepted (stored) messages are remembered; a resend of
// a message answered AE/AR is processed again. A resend that arrives while
// the first copy is still being published waits for its outcome.
//
// The memory is per process unless DedupConfig.Shared is set: then a
// message this process does not remember is looked up there, and a stored
// one is written there before its AA, so a resend that reaches another
// gateway instance is answered AA with the first copy's coordinates.
// Two copies in flight on two instances at once can both be stored: the
// shared memory learns of the first only once it is stored. Safe for
// concurrent use.
type Dedup struct {
	cfg       DedupConfig
	connector string

	mu      sync.Mutex
	entries map[string]*dedupEntry
	order   []dedupRef // insertion order = expiry order
	head    int
	seq     uint64

	dups *prometheus.CounterVec
}

type dedupEntry struct {
	sum     [sha256.Size]byte
	seq     uint64
	expires time.Time
	done    chan struct{} // closed when the first copy's outcome is known
	stored  bool
	out     []pipeline.Delivery
}

type dedupRef struct {
	key string
	seq uint64
}

// NewDedup returns an empty duplicate memory. Its metric,
// gateway_hl7_duplicates_total{connector,result}, is registered with reg
// (nil: not registered); connector is its label.
func NewDedup(cfg DedupConfig, connector string, reg prometheus.Registerer) *Dedup {
	if cfg.Window <= 0 {
		cfg.Window = 10 * time.Minute
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &Dedup{cfg: cfg, connector: connector, entries: make(map[string]*dedupEntry)}
	d.dups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "gateway_hl7_duplicates_total",
		Help:        "HL7 messages whose sender and control id were seen within the dedup window, by result (suppressed, conflict, evicted, not_shared).",
		ConstLabels: prometheus.Labels{"connector": connector},
	}, []string{"result"})
	if reg != nil {
		reg.MustRegister(d.dups)
	}
	return d
}

// Len is the number of messages remembered.
func (d *Dedup) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.entries)
}

// claim looks m up. When a stored copy is remembered it returns its
// deliveries and dup true. Otherwise it returns a release func that the
// caller must call with the message's outcome: it remembers an accepted
// message and forgets any other. A copy still in flight is waited for,
// bounded by ctx (then the message is processed on its own).
func (d *Dedup) claim(ctx context.Context, m *hl7.Message) (deliveries []pipeline.Delivery, dup bool, release func(pipeline.Outcome)) {
	h := m.Header()
	if h.ControlID == "" {
		return nil, false, func(pipeline.Outcome) {}
	}
	key := string(h.SendingAppRaw) + "\x00" + string(h.SendingFacilityRaw) + "\x00" + h.ControlID
	sum := contentSum(m)
	for {
		d.mu.Lock()
		d.expire()
		e, ok := d.entries[key]
		if !ok {
			if out, dup, decided := d.sharedLookup(key, sum); decided {
				d.mu.Unlock()
				if dup {
					d.dups.WithLabelValues(DupSuppressed).Inc()
					return out, true, nil
				}
				d.dups.WithLabelValues(DupConflict).Inc()
				return nil, false, func(pipeline.Outcome) {}
			}
			break // d.mu held
		}
		if e.sum != sum {
			d.mu.Unlock()
			d.dups.WithLabelValues(DupConflict).Inc()
			return nil, false, func(pipeline.Outcome) {}
		}
		done := e.done
		d.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, false, func(pipeline.Outcome) {}
		}
		d.mu.Lock()
		if cur, ok := d.entries[key]; ok && cur == e && e.stored {
			out := e.out
			d.mu.Unlock()
			d.dups.WithLabelValues(DupSuppressed).Inc()
			return out, true, nil
		}
		d.mu.Unlock() // the first copy failed: try to claim again
	}
	d.seq++
	e := &dedupEntry{sum: sum, seq: d.seq, expires: d.cfg.Now().Add(d.cfg.Window), done: make(chan struct{})}
	d.entries[key] = e
	d.order = append(d.order, dedupRef{key: key, seq: e.seq})
	d.evictOver()
	d.mu.Unlock()
	return nil, false, func(out pipeline.Outcome) { d.settle(ctx, key, e, out) }
}

// sharedKey names key in the shared memory: connectors of one name share
// it across instances.
func (d *Dedup) sharedKey(key string) string { return d.connector + "\x00" + key }

// sharedLookup asks the shared memory about a message this process does
// not remember: decided is false when it remembers nothing either; dup
// tells a resend (same content) from a conflict.
func (d *Dedup) sharedLookup(key string, sum [sha256.Size]byte) (out []pipeline.Delivery, dup, decided bool) {
	if d.cfg.Shared == nil {
		return nil, false, false
	}
	ssum, out, ok := d.cfg.Shared.Lookup(d.sharedKey(key))
	if !ok {
		return nil, false, false
	}
	return out, ssum == sum, true
}

// settle records the first copy's outcome and wakes waiting resends. A
// stored message is first remembered in the shared memory, if any, so
// that its resend finds it on any instance once it is answered.
func (d *Dedup) settle(ctx context.Context, key string, e *dedupEntry, out pipeline.Outcome) {
	if out.Status == pipeline.Accepted && d.cfg.Shared != nil {
		if err := d.cfg.Shared.Remember(ctx, d.sharedKey(key), e.sum, out.Deliveries, d.cfg.Window); err != nil {
			d.dups.WithLabelValues(DupNotShared).Inc()
		}
	}
	d.mu.Lock()
	if out.Status == pipeline.Accepted {
		e.stored = true
		e.out = out.Deliveries
	} else if cur, ok := d.entries[key]; ok && cur == e {
		delete(d.entries, key)
	}
	d.mu.Unlock()
	close(e.done)
}

// expire forgets entries whose window ended. d.mu is held.
func (d *Dedup) expire() {
	now := d.cfg.Now()
	for d.head < len(d.order) {
		ref := d.order[d.head]
		e, ok := d.entries[ref.key]
		if ok && e.seq == ref.seq {
			if now.Before(e.expires) {
				break
			}
			if !d.inFlight(e) {
				delete(d.entries, ref.key)
			}
		}
		d.pop()
	}
}

// evictOver forgets the oldest entries while there are too many. d.mu is
// held.
func (d *Dedup) evictOver() {
	for len(d.entries) > d.cfg.MaxEntries && d.head < len(d.order) {
		ref := d.order[d.head]
		if e, ok := d.entries[ref.key]; ok && e.seq == ref.seq && !d.inFlight(e) {
			delete(d.entries, ref.key)
			d.dups.WithLabelValues(DupEvicted).Inc()
		}
		d.pop()
	}
}

func (d *Dedup) inFlight(e *dedupEntry) bool {
	select {
	case <-e.done:
		return false
	default:
		return true
	}
}

// pop drops the queue's head, compacting the queue once half of it is
// consumed so that it does not grow without bound.
func (d *Dedup) pop() {
	d.order[d.head] = dedupRef{}
	d.head++
	if d.head > 1024 && d.head*2 > len(d.order) {
		n := copy(d.order, d.order[d.head:])
		clear(d.order[n:])
		d.order = d.order[:n]
		d.head = 0
	}
}

// contentSum hashes the message without MSH-7, the field a resend may
// carry a new time in.
func contentSum(m *hl7.Message) [sha256.Size]byte {
	raw := m.Raw()
	start, end := m.MSHFieldSpan(7)
	h := sha256.New()
	h.Write(raw[:start])
	h.Write(raw[end:])
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
}

// Metric is gateway_hl7_duplicates_total, curried with the connector.
func (d *Dedup) Metric() *prometheus.CounterVec { return d.dups }
