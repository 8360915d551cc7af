package hl7door

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/pipeline"
)

// TxGroups is a pipeline.Publisher that commits the atomic publishes of
// concurrent messages together: what arrives while its committers are
// busy is published, at the next turn, as one Kafka transaction holding
// each waiting message's records (a group commit). A transaction costs
// several broker round trips and transaction markers on every partition
// it wrote; one per message made converting messages to FHIR cost four
// times the CPU of not converting them and capped a connector at the
// transactional client pool's few transactions in flight.
//
// Every message's records are still all or nothing, and its publish
// returns only once its transaction committed; a failed transaction fails
// every message in it (each is answered AR and resent), except that a
// group failing because one record is larger than Kafka takes is
// published again one message at a time, so that only that message is
// refused.
//
// A message alone in its group is published under its own context, as
// without TxGroups; a group under the first message's context without its
// cancellation (the publisher's own bound applies), while each caller
// still returns when its own context ends. A message whose caller gave up
// before its group started is not published. Publishes that are not
// atomic, or of a single record, pass straight through. It is safe for
// concurrent use.
//
// A further committer starts only when none runs or when a full group is
// waiting: every transaction costs the gateway and the broker a fixed
// share (round trips, markers, a record batch per partition it wrote), so
// a few large groups cost less per message than many small ones. Starting
// a committer for every arrival while others were busy split 64
// connections' messages into groups of ~9 and cost ~13% more gateway CPU
// and ~40% more broker CPU per converted message (bench/e2e -convert)
// than waiting for the busy committer; one that cannot keep up still gets
// company as soon as the queue holds a full group.
type TxGroups struct {
	pub      pipeline.Publisher
	slots    chan struct{} // one per committer running
	maxGroup int

	mu    sync.Mutex
	queue []*txMember
}

type txMember struct {
	ctx  context.Context
	recs []*kgo.Record
	done chan txResult // buffered: the committer never waits for the caller
}

type txResult struct {
	dels []pipeline.Delivery
	err  error
}

// NewTxGroups returns a group-committing publisher over pub with at most
// committers transactions in flight (the producer's pool of transactional
// clients: more would only wait for one) and at most maxGroup messages in
// one transaction. Both are at least 1.
func NewTxGroups(pub pipeline.Publisher, committers, maxGroup int) *TxGroups {
	return &TxGroups{pub: pub, slots: make(chan struct{}, max(committers, 1)), maxGroup: max(maxGroup, 1)}
}

// Publish implements pipeline.Publisher.
func (g *TxGroups) Publish(ctx context.Context, recs []*kgo.Record, atomic bool) ([]pipeline.Delivery, error) {
	if !atomic || len(recs) < 2 {
		return g.pub.Publish(ctx, recs, atomic)
	}
	m := &txMember{ctx: ctx, recs: recs, done: make(chan txResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, m)
	start := false
	if len(g.slots) == 0 || len(g.queue) >= g.maxGroup {
		select {
		case g.slots <- struct{}{}:
			start = true
		default: // every committer is busy; one of them takes m next
		}
	}
	g.mu.Unlock()
	if start {
		go g.commit()
	}
	select {
	case r := <-m.done:
		return r.dels, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("hl7door: transaction not committed in time (it may still commit, whole): %w", ctx.Err())
	}
}

// commit publishes groups from the queue until it is empty, then frees
// its slot. Taking the last group and freeing the slot happen under the
// lock that Publish enqueues under (and takes slots under, so len(slots)
// is the committers running), so no message is left waiting with no
// committer.
func (g *TxGroups) commit() {
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			<-g.slots
			g.mu.Unlock()
			return
		}
		n := min(len(g.queue), g.maxGroup)
		group := make([]*txMember, n)
		copy(group, g.queue)
		g.queue = append(g.queue[:0], g.queue[n:]...)
		g.mu.Unlock()
		g.publish(group)
	}
}

// publish runs one group as one transaction and answers its members.
func (g *TxGroups) publish(group []*txMember) {
	live := make([]*txMember, 0, len(group))
	for _, m := range group {
		if err := m.ctx.Err(); err != nil {
			m.done <- txResult{err: fmt.Errorf("hl7door: not published, the sender gave up: %w", err)}
			continue
		}
		live = append(live, m)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		m := live[0]
		dels, err := g.pub.Publish(m.ctx, m.recs, true)
		m.done <- txResult{dels: dels, err: err}
		return
	}
	size := 0
	for _, m := range live {
		size += len(m.recs)
	}
	recs := make([]*kgo.Record, 0, size)
	for _, m := range live {
		recs = append(recs, m.recs...)
	}
	dels, err := g.pub.Publish(context.WithoutCancel(live[0].ctx), recs, true)
	if errors.Is(err, pipeline.ErrRecordTooLarge) {
		// Nothing of the group is visible: publish each message alone so
		// that only the one Kafka will never take is refused.
		for _, m := range live {
			d, err := g.pub.Publish(context.WithoutCancel(m.ctx), m.recs, true)
			m.done <- txResult{dels: d, err: err}
		}
		return
	}
	if err == nil && len(dels) != len(recs) {
		err = fmt.Errorf("hl7door: the publisher answered %d deliveries for %d records", len(dels), len(recs))
	}
	at := 0
	for _, m := range live {
		if err != nil {
			m.done <- txResult{err: err}
			continue
		}
		m.done <- txResult{dels: dels[at : at+len(m.recs) : at+len(m.recs)]}
		at += len(m.recs)
	}
}
