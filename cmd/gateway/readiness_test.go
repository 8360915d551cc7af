package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
)

// fakeClock is a settable time for readiness.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestReadiness(ping, accept func(context.Context) error) (*readiness, *fakeClock) {
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	return &readiness{ping: ping, accept: accept, now: c.now, probing: make(chan struct{}, 1)}, c
}

func ok(context.Context) error { return nil }

func TestReadinessFollowsWhatTheBrokerCanTake(t *testing.T) {
	unavailable := &publish.Error{Why: publish.ReasonBrokerUnavailable, Err: errors.New("dial: connection refused")}
	cases := []struct {
		name      string
		ping      error
		accept    error
		published []error // outcomes observed, in order
		after     time.Duration
		ready     bool
	}{
		{"metadata answers and nothing failed: ready", nil, nil, nil, 0, true},
		{"no metadata answer: not ready", errors.New("timeout"), nil, nil, 0, false},
		{"the embedded broker serves no new connection: not ready", nil, errors.New("refused"), nil, 0, false},
		{"a publish the broker could not take: not ready", nil, nil, []error{unavailable}, time.Second, false},
		{"NOT_ENOUGH_REPLICAS: not ready", nil, nil, []error{&publish.Error{Why: publish.ReasonNotEnoughReplicas, Err: kerr.NotEnoughReplicas}}, time.Second, false},
		{"a success after the failure: ready again", nil, nil, []error{unavailable, nil}, time.Second, true},
		{"the failure is older than the hold and the probes pass: ready again", nil, nil, []error{unavailable}, publishFailureHold, true},
		{"a record too large says nothing about the broker: ready", nil, nil, []error{&publish.Error{Why: publish.ReasonRecordTooLarge}}, 0, true},
		{"a sender that went away says nothing about the broker: ready", nil, nil, []error{&publish.Error{Why: publish.ReasonCanceled, Err: context.Canceled}}, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, clock := newTestReadiness(func(context.Context) error { return tc.ping }, func(context.Context) error { return tc.accept })
			for _, err := range tc.published {
				r.observe(err)
			}
			clock.advance(tc.after)
			if err := r.Check(context.Background()); (err == nil) != tc.ready {
				t.Fatalf("Check = %v, want ready %v", err, tc.ready)
			}
		})
	}
}

func TestReadinessProbesTheBrokerAtMostOnceASecond(t *testing.T) {
	calls := 0
	r, clock := newTestReadiness(func(context.Context) error { calls++; return nil }, ok)
	for range 50 {
		if err := r.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("%d probes for 50 checks within a second, want 1", calls)
	}
	clock.advance(readyCacheFor)
	_ = r.Check(context.Background())
	if calls != 2 {
		t.Fatalf("%d probes after the cache expired, want 2", calls)
	}
}

func TestReadinessNamesTheFailedPublish(t *testing.T) {
	r, _ := newTestReadiness(ok, ok)
	r.observe(fmt.Errorf("wrapped: %w", &publish.Error{Why: publish.ReasonTimeout, Topic: "hl7.adt.a01"}))
	err := r.Check(context.Background())
	var pe *publish.Error
	if !errors.As(err, &pe) || pe.Reason() != publish.ReasonTimeout {
		t.Fatalf("Check = %v, want the publish error", err)
	}
}

// failingPublisher fails every publish with err.
type failingPublisher struct{ err error }

func (f failingPublisher) Publish(context.Context, []*kgo.Record, bool) ([]pipeline.Delivery, error) {
	return nil, f.err
}

func TestAClientDeadlineDoesNotMakeTheGatewayNotReady(t *testing.T) {
	timeout := &publish.Error{Why: publish.ReasonTimeout, Err: context.DeadlineExceeded}
	r, _ := newTestReadiness(ok, ok)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the sender's own deadline passed
	_, _ = observedPublisher{failingPublisher{timeout}, r}.Publish(ctx, nil, false)
	if err := r.Check(context.Background()); err != nil {
		t.Fatalf("after a publish cut by its sender's context: %v, want ready", err)
	}
	_, _ = observedPublisher{failingPublisher{timeout}, r}.Publish(context.Background(), nil, false)
	if err := r.Check(context.Background()); err == nil {
		t.Fatal("after a publish that timed out on its own: ready, want not ready")
	}
}
