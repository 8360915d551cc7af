package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const testTopic = "gw.status"

// testBroker is a Kafka-protocol broker over TCP with the status topic.
func testBroker(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func newMember(t *testing.T, brokers []string, id string) *Member {
	t.Helper()
	m, err := New(Config{InstanceID: id, WorkerID: "w-" + id, Topic: testTopic,
		Heartbeat: 100 * time.Millisecond, Liveness: time.Second}, kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func TestProcessesClaimingOneIDAtOnceLeaveExactlyOneRunning(t *testing.T) {
	brokers := testBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		m := newMember(t, brokers, "gw-x")
		wg.Go(func() { errs[i] = m.Join(ctx) })
	}
	wg.Wait()
	joined := 0
	for i, err := range errs {
		switch {
		case err == nil:
			joined++
		case !errors.Is(err, ErrInstanceIDInUse):
			t.Errorf("member %d: %v, want nil or ErrInstanceIDInUse", i, err)
		}
	}
	if joined != 1 {
		t.Fatalf("%d of %d processes with one id joined, want 1: %v", joined, n, errs)
	}
}

func TestACrashedHolderIsWaitedOutAndACleanOneIsNot(t *testing.T) {
	tests := []struct {
		name     string
		clean    bool
		min, max time.Duration
	}{
		{"a holder that left cleanly frees the id at once", true, 0, 900 * time.Millisecond},
		{"a holder that crashed is waited out for the liveness time", false, time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			brokers := testBroker(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			first := newMember(t, brokers, "gw-y")
			if err := first.Join(ctx); err != nil {
				t.Fatal(err)
			}
			if tt.clean {
				if err := first.Leave(ctx, nil); err != nil {
					t.Fatal(err)
				}
			}
			first.Close() // no more heartbeats
			began := time.Now()
			if err := newMember(t, brokers, "gw-y").Join(ctx); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(began); d < tt.min || d > tt.max {
				t.Errorf("joined after %s, want between %s and %s", d, tt.min, tt.max)
			}
		})
	}
}

func TestAHeartbeatingHolderKeepsItsID(t *testing.T) {
	brokers := testBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := newMember(t, brokers, "gw-z").Join(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a few heartbeats: the latest record is alive
	if err := newMember(t, brokers, "gw-z").Join(ctx); !errors.Is(err, ErrInstanceIDInUse) {
		t.Fatalf("second holder: %v, want ErrInstanceIDInUse", err)
	}
	if err := newMember(t, brokers, "gw-other").Join(ctx); err != nil {
		t.Fatalf("another id: %v", err)
	}
}
