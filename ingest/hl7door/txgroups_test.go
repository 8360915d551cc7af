package hl7door_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/pipeline"
)

// fakePub records each Publish call's record values; the first call
// waits for gate (when set), so that others queue behind it. Deliveries
// name each record's value as their topic.
type fakePub struct {
	gate chan struct{}
	fail func(values []string) error

	mu     sync.Mutex
	calls  [][]string
	atomic []bool
	first  atomic.Bool
}

func (f *fakePub) Publish(_ context.Context, recs []*kgo.Record, atomic bool) ([]pipeline.Delivery, error) {
	values := make([]string, len(recs))
	for i, r := range recs {
		values[i] = string(r.Value)
	}
	f.mu.Lock()
	f.calls = append(f.calls, values)
	f.atomic = append(f.atomic, atomic)
	f.mu.Unlock()
	if f.gate != nil && f.first.CompareAndSwap(false, true) {
		<-f.gate
	}
	if f.fail != nil {
		if err := f.fail(values); err != nil {
			return nil, err
		}
	}
	dels := make([]pipeline.Delivery, len(recs))
	for i, v := range values {
		dels[i] = pipeline.Delivery{Topic: v}
	}
	return dels, nil
}

func (f *fakePub) callSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int
	for _, c := range f.calls {
		out = append(out, len(c))
	}
	return out
}

// records of message m: n records named "m<m>-<i>".
func records(m, n int) []*kgo.Record {
	out := make([]*kgo.Record, n)
	for i := range out {
		out[i] = &kgo.Record{Value: fmt.Appendf(nil, "m%d-%d", m, i)}
	}
	return out
}

type groupResult struct {
	dels []pipeline.Delivery
	err  error
}

// publishQueued publishes message 0 (which blocks in the publisher), then
// messages 1..n while it does, and releases it once they all wait.
func publishQueued(t *testing.T, g *hl7door.TxGroups, f *fakePub, n int) []groupResult {
	t.Helper()
	res := make([]groupResult, n+1)
	var wg sync.WaitGroup
	wg.Go(func() { res[0].dels, res[0].err = g.Publish(context.Background(), records(0, 2), true) })
	for len(f.callSizes()) == 0 {
		time.Sleep(time.Millisecond)
	}
	for m := 1; m <= n; m++ {
		wg.Go(func() { res[m].dels, res[m].err = g.Publish(context.Background(), records(m, 3), true) })
	}
	time.Sleep(100 * time.Millisecond) // let them all queue
	close(f.gate)
	wg.Wait()
	return res
}

func TestMessagesArrivingDuringATransactionShareTheNextOne(t *testing.T) {
	f := &fakePub{gate: make(chan struct{})}
	res := publishQueued(t, hl7door.NewTxGroups(f, 1, 64), f, 5)
	if got := f.callSizes(); !slices.Equal(got, []int{2, 15}) {
		t.Fatalf("transactions of %v records, want the first message's 2 and then the five waiting messages' 15 in one", got)
	}
	for m, r := range res {
		if r.err != nil {
			t.Fatalf("message %d: %v", m, r.err)
		}
		for i, d := range r.dels {
			if want := fmt.Sprintf("m%d-%d", m, i); d.Topic != want {
				t.Errorf("message %d delivery %d is %s's", m, i, d.Topic)
			}
		}
	}
	if slices.Contains(f.atomic, false) {
		t.Error("a group was not published atomically")
	}
}

func TestAGroupHoldsAtMostMaxGroupMessages(t *testing.T) {
	f := &fakePub{gate: make(chan struct{})}
	publishQueued(t, hl7door.NewTxGroups(f, 1, 2), f, 5)
	if got := f.callSizes(); !slices.Equal(got, []int{2, 6, 6, 3}) {
		t.Fatalf("transactions of %v records, want 2, then groups of at most 2 messages of 3", got)
	}
}

func TestAFailedGroupFailsEveryMessageInIt(t *testing.T) {
	down := errors.New("NOT_ENOUGH_REPLICAS")
	f := &fakePub{gate: make(chan struct{}), fail: func(v []string) error {
		if len(v) > 2 {
			return down
		}
		return nil
	}}
	res := publishQueued(t, hl7door.NewTxGroups(f, 1, 64), f, 3)
	if res[0].err != nil {
		t.Fatalf("the first message's own transaction failed: %v", res[0].err)
	}
	for m := 1; m <= 3; m++ {
		if !errors.Is(res[m].err, down) || res[m].dels != nil {
			t.Errorf("message %d: %v, %v; want the group's error and no delivery", m, res[m].dels, res[m].err)
		}
	}
}

func TestARecordTooLargeFailsOnlyItsOwnMessage(t *testing.T) {
	f := &fakePub{gate: make(chan struct{}), fail: func(v []string) error {
		if slices.Contains(v, "m2-1") {
			return fmt.Errorf("publish: %w", pipeline.ErrRecordTooLarge)
		}
		return nil
	}}
	res := publishQueued(t, hl7door.NewTxGroups(f, 1, 64), f, 3)
	for m, r := range res {
		if tooLarge := errors.Is(r.err, pipeline.ErrRecordTooLarge); tooLarge != (m == 2) {
			t.Errorf("message %d: %v", m, r.err)
		}
	}
	if got := f.callSizes(); !slices.Equal(got, []int{2, 9, 3, 3, 3}) {
		t.Errorf("transactions of %v records, want the failed group of 9 again one message at a time", got)
	}
}

func TestPublishesThatAreNotAtomicPassStraightThrough(t *testing.T) {
	f := &fakePub{}
	g := hl7door.NewTxGroups(f, 1, 64)
	if _, err := g.Publish(context.Background(), records(1, 3), false); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Publish(context.Background(), records(2, 1), true); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.atomic, []bool{false, true}) || !slices.Equal(f.callSizes(), []int{3, 1}) {
		t.Fatalf("calls %v atomic %v", f.callSizes(), f.atomic)
	}
}

func TestASenderThatGaveUpBeforeItsGroupStartedIsNotPublished(t *testing.T) {
	f := &fakePub{gate: make(chan struct{})}
	g := hl7door.NewTxGroups(f, 1, 64)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = g.Publish(context.Background(), records(0, 2), true) })
	for len(f.callSizes()) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Publish(ctx, records(1, 2), true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the sender's deadline", err)
	}
	close(f.gate)
	wg.Wait()
	if _, err := g.Publish(context.Background(), records(2, 2), true); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.calls {
		if slices.Contains(c, "m1-0") {
			t.Fatalf("calls %v: the abandoned message was published", f.calls)
		}
	}
}

func TestMessagesWaitForTheBusyCommitterUntilAFullGroupWaits(t *testing.T) {
	f := &fakePub{gate: make(chan struct{})}
	// Four committers, but five messages arriving while the first
	// transaction runs are fewer than a group: they wait for it and share
	// one transaction instead of starting three more small ones.
	publishQueued(t, hl7door.NewTxGroups(f, 4, 64), f, 5)
	if got := f.callSizes(); !slices.Equal(got, []int{2, 15}) {
		t.Errorf("publishes of %v records, want [2 15]", got)
	}
}

func TestAFullGroupWaitingStartsAnotherCommitter(t *testing.T) {
	f := &fakePub{gate: make(chan struct{})}
	g := hl7door.NewTxGroups(f, 2, 2)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = g.Publish(context.Background(), records(0, 2), true) })
	for len(f.callSizes()) == 0 {
		time.Sleep(time.Millisecond)
	}
	for m := 1; m <= 2; m++ {
		wg.Go(func() { _, _ = g.Publish(context.Background(), records(m, 3), true) })
	}
	// The first transaction is still blocked: only a second committer can
	// publish the full group of messages 1 and 2.
	deadline := time.Now().Add(5 * time.Second)
	for len(f.callSizes()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	got := f.callSizes()
	close(f.gate)
	wg.Wait()
	if !slices.Equal(got, []int{2, 6}) {
		t.Errorf("publishes of %v records while the first transaction ran, want [2 6]", got)
	}
}
