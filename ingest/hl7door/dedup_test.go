package hl7door_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/cluster"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/pipeline"
)

// dedupRig is a door with duplicate suppression over a kfake broker, and
// what a test needs to look at its records and metric.
type dedupRig struct {
	door    *hl7door.Door
	dd      *hl7door.Dedup
	p       *pipeline.Pipeline[hl7door.Request, *hl7door.Parsed]
	reg     *prometheus.Registry
	brokers []string
	now     time.Time
	mu      sync.Mutex
}

func newDedupRig(t *testing.T, maxEntries int) *dedupRig {
	t.Helper()
	r := &dedupRig{reg: prometheus.NewRegistry(), now: time.Unix(1700000000, 0)}
	r.p, r.brokers = newPipeline(t)
	r.dd = hl7door.NewDedup(hl7door.DedupConfig{Window: time.Minute, MaxEntries: maxEntries, Now: r.clock}, "t", r.reg)
	r.door = hl7door.NewDoor(r.p, nil, hl7door.WithDedup(r.dd))
	return r
}

func (r *dedupRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *dedupRig) advance(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

func (r *dedupRig) dups(result string) float64 {
	return testutil.ToFloat64(r.dd.Metric().WithLabelValues(result))
}

// submit sends raw and demands an AA for control id want.
func (r *dedupRig) submit(t *testing.T, raw []byte, want string) pipeline.Outcome {
	t.Helper()
	ack, out := r.door.SubmitHL7(context.Background(), raw)
	info, err := hl7.ParseACK(ack)
	if err != nil || info.Code != "AA" || info.ControlID != want {
		t.Fatalf("answer %+v %v, want AA for %s", info, err, want)
	}
	return out
}

// records reads the ADT topic to its end and returns the values.
func (r *dedupRig) records(t *testing.T) [][]byte {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.brokers...), kgo.ConsumeTopics("hl7.adt.a01"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, "hl7.adt.a01")
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	var vals [][]byte
	for int64(len(vals)) < want && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(rec *kgo.Record) { vals = append(vals, rec.Value) })
	}
	return vals
}

func withTime(raw []byte, ts string) []byte {
	return bytes.Replace(raw, []byte("20240101120000"), []byte(ts), 1)
}

func TestDedupAnswersAResendAAWithoutASecondRecord(t *testing.T) {
	r := newDedupRig(t, 0)
	first := r.submit(t, message("D1", ""), "D1")
	again := r.submit(t, message("D1", ""), "D1")
	retimed := r.submit(t, withTime(message("D1", ""), "20240101120500"), "D1")
	if got := len(r.records(t)); got != 1 {
		t.Fatalf("%d records, want 1", got)
	}
	if again.Deliveries[0] != first.Deliveries[0] || retimed.Deliveries[0] != first.Deliveries[0] {
		t.Fatalf("resends report %v and %v, want the first copy's %v", again.Deliveries, retimed.Deliveries, first.Deliveries)
	}
	if got := r.dups(hl7door.DupSuppressed); got != 2 {
		t.Fatalf("suppressed = %v, want 2", got)
	}
}

func TestDedupPublishesAReusedControlIDWithOtherContent(t *testing.T) {
	r := newDedupRig(t, 0)
	r.submit(t, message("D2", ""), "D2")
	other := bytes.Replace(message("D2", ""), []byte("123^^^H"), []byte("456^^^H"), 1)
	r.submit(t, other, "D2")
	vals := r.records(t)
	if len(vals) != 2 || !bytes.Equal(vals[1], other) {
		t.Fatalf("records %q, want both messages", vals)
	}
	if got := r.dups(hl7door.DupConflict); got != 1 {
		t.Fatalf("conflict = %v, want 1", got)
	}
}

func TestDedupKeysOnSendingApplicationFacilityAndControlID(t *testing.T) {
	r := newDedupRig(t, 0)
	r.submit(t, message("D3", ""), "D3")
	r.submit(t, bytes.Replace(message("D3", ""), []byte("|SND|"), []byte("|SND2|"), 1), "D3")
	r.submit(t, bytes.Replace(message("D3", ""), []byte("|SFAC|"), []byte("|SFAC2|"), 1), "D3")
	if got := len(r.records(t)); got != 3 {
		t.Fatalf("%d records, want 3: other senders are other messages", got)
	}
}

func TestDedupForgetsAMessageThatWasNotStored(t *testing.T) {
	r := newDedupRig(t, 0)
	r.p.SetPaused(true)
	ack, out := r.door.SubmitHL7(context.Background(), message("D4", ""))
	if info, _ := hl7.ParseACK(ack); info.Code != "AR" || out.Status != pipeline.Unavailable {
		t.Fatalf("paused answer %q, want AR", ack)
	}
	r.p.SetPaused(false)
	r.submit(t, message("D4", ""), "D4")
	if got := len(r.records(t)); got != 1 {
		t.Fatalf("%d records, want the resend stored", got)
	}
}

func TestDedupRemembersOnlyForTheWindow(t *testing.T) {
	r := newDedupRig(t, 0)
	r.submit(t, message("D5", ""), "D5")
	r.advance(59 * time.Second)
	r.submit(t, message("D5", ""), "D5")
	r.advance(2 * time.Second)
	r.submit(t, message("D5", ""), "D5")
	if got := len(r.records(t)); got != 2 {
		t.Fatalf("%d records, want 2 (one within the window, one after)", got)
	}
	if r.dd.Len() != 1 {
		t.Fatalf("remembered %d, want 1", r.dd.Len())
	}
}

func TestDedupForgetsTheOldestPastMaxEntries(t *testing.T) {
	r := newDedupRig(t, 2)
	for _, id := range []string{"E1", "E2", "E3"} {
		r.submit(t, message(id, ""), id)
	}
	if r.dd.Len() != 2 || r.dups(hl7door.DupEvicted) != 1 {
		t.Fatalf("remembered %d, evicted %v; want 2 and 1", r.dd.Len(), r.dups(hl7door.DupEvicted))
	}
	r.submit(t, message("E1", ""), "E1") // forgotten: stored again
	r.submit(t, message("E3", ""), "E3") // remembered
	if got := len(r.records(t)); got != 4 {
		t.Fatalf("%d records, want 4", got)
	}
}

func TestDedupConcurrentResendsMakeOneRecord(t *testing.T) {
	r := newDedupRig(t, 0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.submit(t, message("D6", ""), "D6")
		}()
	}
	wg.Wait()
	if got := len(r.records(t)); got != 1 {
		t.Fatalf("%d records, want 1", got)
	}
	if got := r.dups(hl7door.DupSuppressed); got != 7 {
		t.Fatalf("suppressed = %v, want 7", got)
	}
}

func TestDedupAppliesToBatchMembers(t *testing.T) {
	r := newDedupRig(t, 0)
	batch := "FHS|^~\\&|SND|SFAC|RCV|RFAC|20240101||||F1\rBHS|^~\\&|SND|SFAC|RCV|RFAC|20240101||||B1\r" +
		string(message("B1", "")) + string(message("B2", "")) + "BTS|2\rFTS|1\r"
	r.submit(t, message("B1", ""), "B1")
	ack, _ := r.door.SubmitHL7(context.Background(), []byte(batch))
	if bytes.Count(ack, []byte("MSA|AA|")) != 2 {
		t.Fatalf("batch ack %q, want two AA", ack)
	}
	if got := len(r.records(t)); got != 2 {
		t.Fatalf("%d records, want 2 (B1 once, B2)", got)
	}
}

// sharedDoor is a door of connector "t" whose duplicate memory is shared
// through the dedup topic of brokers, as on another gateway instance.
func sharedDoor(t *testing.T, p *pipeline.Pipeline[hl7door.Request, *hl7door.Parsed], brokers []string, instance string) (*hl7door.Door, *hl7door.Dedup, *cluster.DedupLog) {
	t.Helper()
	dl, err := cluster.NewDedupLog("gw.dedup", instance, nil, kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dl.Close)
	dd := hl7door.NewDedup(hl7door.DedupConfig{Window: time.Minute, Shared: dl}, "t", prometheus.NewRegistry())
	return hl7door.NewDoor(p, nil, hl7door.WithDedup(dd)), dd, dl
}

func TestASharedMemoryAnswersAResendOnAnotherInstanceFromTheFirstCopy(t *testing.T) {
	r := &dedupRig{}
	r.p, r.brokers = newPipeline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(r.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 2, 1, nil, "gw.dedup"); err != nil {
		t.Fatal(err)
	}
	doorA, _, _ := sharedDoor(t, r.p, r.brokers, "a")
	doorB, ddB, logB := sharedDoor(t, r.p, r.brokers, "b")
	submit := func(d *hl7door.Door, raw []byte) pipeline.Outcome {
		t.Helper()
		ack, out := d.SubmitHL7(ctx, raw)
		if info, err := hl7.ParseACK(ack); err != nil || info.Code != "AA" {
			t.Fatalf("answer %+v %v, want AA", info, err)
		}
		return out
	}

	first := submit(doorA, message("S1", ""))
	if err := logB.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	resend := submit(doorB, withTime(message("S1", ""), "20240101120500"))
	if got := testutil.ToFloat64(ddB.Metric().WithLabelValues(hl7door.DupSuppressed)); got != 1 {
		t.Errorf("suppressed on B = %v, want 1", got)
	}
	if len(resend.Deliveries) != 1 || resend.Deliveries[0] != first.Deliveries[0] {
		t.Errorf("resend answered with %+v, want the first copy's %+v", resend.Deliveries, first.Deliveries)
	}
	if n := len(r.records(t)); n != 1 {
		t.Fatalf("%d records after a resend on another instance, want 1", n)
	}

	submit(doorB, bytes.Replace(message("S1", ""), []byte("123^^^H"), []byte("456^^^H"), 1))
	if got := testutil.ToFloat64(ddB.Metric().WithLabelValues(hl7door.DupConflict)); got != 1 {
		t.Errorf("conflict on B = %v, want 1", got)
	}
	if n := len(r.records(t)); n != 2 {
		t.Fatalf("%d records after other content under the same id, want 2", n)
	}

	// An instance started later reads what was stored before it.
	doorC, ddC, logC := sharedDoor(t, r.p, r.brokers, "c")
	if err := logC.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	submit(doorC, message("S1", ""))
	if got := testutil.ToFloat64(ddC.Metric().WithLabelValues(hl7door.DupSuppressed)); got != 1 || len(r.records(t)) != 2 {
		t.Errorf("a later instance: suppressed %v, %d records; want 1 and 2", got, len(r.records(t)))
	}
}
