package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/embedded"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
)

const (
	// readyCacheFor is how long a probe's verdict is reused: /readyz is
	// open to anyone, and must not turn into a request to the broker (or
	// a new connection to the embedded one) per HTTP request.
	readyCacheFor = time.Second
	// publishFailureHold is how long a failed publish keeps the gateway
	// not ready when no publish has succeeded since: long enough for a
	// load balancer probing every 10 s to see three failures in a row.
	// Then the probes alone decide again, so that a gateway nobody sends
	// to (the balancer stopped) becomes ready once the broker is back.
	publishFailureHold = 30 * time.Second
)

// readiness tells whether the broker can take a record now, for /readyz
// and gRPC health. The gateway is not ready while
//   - the producer's client gets no answer to a metadata request;
//   - the embedded broker (when it runs) does not serve a new connection,
//     which is what a broker deaf to new connections looks like while the
//     connections it holds still answer;
//   - the last publish failed because of the broker (unavailable, timed
//     out, NOT_ENOUGH_REPLICAS, not authorized, SASL refused, producer
//     buffer full) less than publishFailureHold ago and none succeeded
//     since.
//
// Safe for concurrent use. The zero value is not usable; see newReadiness.
type readiness struct {
	ping   func(context.Context) error // the producer's client
	accept func(context.Context) error // nil: no embedded broker
	now    func() time.Time

	probing   chan struct{} // one probe at a time
	checkedAt time.Time     // guarded by probing
	verdict   error         // guarded by probing

	mu       sync.Mutex
	failedAt time.Time // last broker failure of a publish; zero after a success
	failure  error
}

func newReadiness(prod *publish.Producer, broker *embedded.Broker) *readiness {
	r := &readiness{ping: prod.Ping, now: time.Now, probing: make(chan struct{}, 1)}
	if broker != nil {
		r.accept = broker.Check
	}
	return r
}

// Check returns nil when ready, else why not. It blocks at most
// readyTimeout (or until ctx ends).
func (r *readiness) Check(ctx context.Context) error {
	if err := r.recentFailure(); err != nil {
		return err
	}
	select {
	case r.probing <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("readiness: %w", ctx.Err())
	}
	defer func() { <-r.probing }()
	if now := r.now(); r.checkedAt.IsZero() || now.Sub(r.checkedAt) >= readyCacheFor {
		r.verdict = r.probe(ctx)
		r.checkedAt = r.now()
	}
	return r.verdict
}

func (r *readiness) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := r.ping(ctx); err != nil {
		return err
	}
	if r.accept != nil {
		return r.accept(ctx)
	}
	return nil
}

func (r *readiness) recentFailure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failedAt.IsZero() {
		return nil
	}
	if ago := r.now().Sub(r.failedAt); ago < publishFailureHold {
		return fmt.Errorf("the last publish failed %s ago and none succeeded since: %w", ago.Round(time.Millisecond), r.failure)
	}
	return nil
}

// observe records the outcome of one publish.
func (r *readiness) observe(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
		r.failedAt, r.failure = time.Time{}, nil
	case brokerFailure(err):
		r.failedAt, r.failure = r.now(), err
	}
}

// brokerFailure reports publish errors that say the broker cannot take
// records, as opposed to errors of one record (too large, unknown topic)
// or of its sender (gone away).
func brokerFailure(err error) bool {
	var pe *publish.Error
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Reason() {
	case publish.ReasonBrokerUnavailable, publish.ReasonTimeout, publish.ReasonNotEnoughReplicas,
		publish.ReasonNotAuthorized, publish.ReasonSASLFailed, publish.ReasonBufferFull:
		return true
	}
	return false
}

// observedPublisher tells readiness the outcome of every publish, except
// a failure that came with the end of the sender's own context (a client
// with a short deadline, or one that went away): otherwise any client
// could make the gateway not ready.
type observedPublisher struct {
	pub   pipeline.Publisher
	ready *readiness
}

func (o observedPublisher) Publish(ctx context.Context, recs []*kgo.Record, atomic bool) ([]pipeline.Delivery, error) {
	dels, err := o.pub.Publish(ctx, recs, atomic)
	if err == nil || ctx.Err() == nil {
		o.ready.observe(err)
	}
	return dels, err
}
