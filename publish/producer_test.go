package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/internal/metrictest"
	"github.com/hl7gw/gateway/pipeline"
)

// testKafka is the producer configuration used against kfake: short
// timeouts so that failures show up quickly.
func testKafka() config.Kafka {
	k := config.Default().Kafka
	k.Producer.DeliveryTimeout = 3 * time.Second
	k.Producer.RequestTimeout = time.Second
	k.Producer.Linger = time.Millisecond
	k.Producer.TransactionalProducers = 2
	return k
}

func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newProducer(t *testing.T, k config.Kafka, c *kfake.Cluster, reg prometheus.Registerer) *Producer {
	t.Helper()
	p, err := New(context.Background(), k, c.ListenAddrs(), reg, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func rec(topic, key, value string) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value),
		Headers: []kgo.RecordHeader{{Key: "hl7.control_id", Value: []byte(value)}}}
}

// readN consumes topics from the start until it has n records.
func readN(t *testing.T, c *kfake.Cluster, n int, topics ...string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d records, want %d", len(got), n)
		}
		got = append(got, fs.Records()...)
	}
	return got
}

// readCommitted consumes single-partition topics from the start with
// read_committed until it has seen a record with value stop, and returns
// the records before it. Anything an aborted transaction wrote before the
// stop record would have shown up by then.
func readCommitted(t *testing.T, c *kfake.Cluster, stop string, topics ...string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got []*kgo.Record
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("did not see %q; saw %d records", stop, len(got))
		}
		for _, r := range fs.Records() {
			if string(r.Value) == stop {
				return got
			}
			got = append(got, r)
		}
	}
}

func TestPublishReturnsDeliveriesInOrder(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(3, "hl7.adt.a01", "hl7.oru.r01"))
	p := newProducer(t, testKafka(), c, prometheus.NewRegistry())
	recs := []*kgo.Record{
		rec("hl7.adt.a01", "P1", "m1"), rec("hl7.adt.a01", "P1", "m2"),
		rec("hl7.oru.r01", "P2", "m3"), rec("hl7.adt.a01", "P1", "m4"),
	}
	dels, err := p.Publish(context.Background(), recs, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(dels) != len(recs) {
		t.Fatalf("deliveries = %d", len(dels))
	}
	a := dels[0]
	if dels[1].Partition != a.Partition || dels[1].Offset != a.Offset+1 || dels[3].Offset != a.Offset+2 {
		t.Errorf("one key must land on one partition in order: %+v", dels)
	}
	if dels[2].Topic != "hl7.oru.r01" || dels[0].Topic != "hl7.adt.a01" {
		t.Errorf("topics %+v", dels)
	}
	// The broker has the records where the deliveries say.
	got := readN(t, c, len(recs), "hl7.adt.a01", "hl7.oru.r01")
	byValue := map[string]pipeline.Delivery{}
	for _, r := range got {
		byValue[string(r.Value)] = pipeline.Delivery{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	}
	for i, r := range recs {
		if byValue[string(r.Value)] != dels[i] {
			t.Errorf("record %d read at %+v, delivery said %+v", i, byValue[string(r.Value)], dels[i])
		}
	}
}

func TestPublishFailureReasons(t *testing.T) {
	tests := []struct {
		name   string
		fault  *kfake.Fault
		mutate func(k *config.Kafka)
		topic  string
		value  string
		want   pipeline.Reason
		wantIs error
	}{
		{"not enough replicas is reported as such", &kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: -1},
			nil, "t", "v", ReasonNotEnoughReplicas, kerr.NotEnoughReplicas},
		{"a topic authorization failure is not_authorized", &kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.TopicAuthorizationFailed, Count: -1},
			nil, "t", "v", ReasonNotAuthorized, kerr.TopicAuthorizationFailed},
		{"request timeouts until the publish bound are a timeout", &kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut, Count: -1},
			nil, "t", "v", ReasonTimeout, kerr.RequestTimedOut},
		{"a record larger than a batch is record_too_large", nil, func(k *config.Kafka) { k.Producer.MaxBatchBytes = 2048 },
			"t", strings.Repeat("x", 4096), ReasonRecordTooLarge, kerr.MessageTooLarge},
		{"a broker refusing a large batch is record_too_large", &kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.MessageTooLarge, Count: -1},
			nil, "t", "v", ReasonRecordTooLarge, kerr.MessageTooLarge},
		{"a missing topic is unknown_topic", nil, nil, "no.such.topic", "v", ReasonUnknownTopic, kerr.UnknownTopicOrPartition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, kfake.SeedTopics(1, "t"))
			if tt.fault != nil {
				c.Fault(*tt.fault)
			}
			k := testKafka()
			if tt.mutate != nil {
				tt.mutate(&k)
			}
			reg := prometheus.NewRegistry()
			p := newProducer(t, k, c, reg)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			dels, err := p.Publish(ctx, []*kgo.Record{rec(tt.topic, "k", tt.value)}, false)
			if err == nil {
				t.Fatalf("Publish succeeded (%+v), want %s", dels, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Reason() != tt.want || pipeline.ReasonOf(err) != tt.want {
				t.Fatalf("err = %v (reason %q), want reason %s", err, pipeline.ReasonOf(err), tt.want)
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v does not wrap %v", err, tt.wantIs)
			}
			if got, want := errors.Is(err, pipeline.ErrRecordTooLarge), tt.want == ReasonRecordTooLarge; got != want {
				t.Errorf("errors.Is(err, pipeline.ErrRecordTooLarge) = %v, want %v", got, want)
			}
			if pe.Topic != tt.topic {
				t.Errorf("topic = %q", pe.Topic)
			}
			if ctx.Err() != nil {
				t.Errorf("the failure came only after the test deadline")
			}
			if n := metrictest.Value(t, reg, "gateway_kafka_publish_errors_total", map[string]string{"reason": string(tt.want)}); n != 1 {
				t.Errorf("publish error counter = %v, want 1", n)
			}
		})
	}
}

func TestFullBufferFailsAtOnceInsteadOfBlocking(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))
	k := testKafka()
	k.Producer.MaxBufferedRecords = 2
	k.Producer.Linger = 200 * time.Millisecond // keep the first records buffered
	p := newProducer(t, k, c, nil)
	recs := make([]*kgo.Record, 10)
	for i := range recs {
		recs[i] = rec("t", "k", fmt.Sprint(i))
	}
	_, err := p.Publish(context.Background(), recs, false)
	if Classify(err) != ReasonBufferFull || !errors.Is(err, kgo.ErrMaxBuffered) {
		t.Fatalf("err = %v, want buffer_full", err)
	}
}

func TestClosedBrokerIsNeverSuccess(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	k := testKafka()
	k.Producer.DeliveryTimeout = 2 * time.Second
	p := newProducer(t, k, c, nil)
	if _, err := p.Publish(context.Background(), []*kgo.Record{rec("t", "k", "before")}, false); err != nil {
		t.Fatal(err)
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, atomic := range []bool{false, true} {
		dels, err := p.Publish(ctx, []*kgo.Record{rec("t", "k", "after1"), rec("t", "k", "after2")}, atomic)
		if err == nil {
			t.Fatalf("atomic=%v: Publish succeeded against a closed broker: %+v", atomic, dels)
		}
		if r := Classify(err); r != ReasonBrokerUnavailable && r != ReasonTimeout {
			t.Errorf("atomic=%v: reason %q (%v), want broker_unavailable or timeout", atomic, r, err)
		}
	}
	if ctx.Err() != nil {
		t.Error("failures came only after the test deadline")
	}
	if err := p.Ping(ctx); err == nil {
		t.Error("Ping succeeded against a closed broker")
	}
}

func TestSASLFailureIsNamed(t *testing.T) {
	c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(config.SASLScramSHA256, "admin", "right"))
	// kfake drops the connection on a bad password; a real broker answers
	// SASL_AUTHENTICATION_FAILED, which this control reproduces.
	c.ControlKey(int16(kmsg.SASLAuthenticate), func(req kmsg.Request) (kmsg.Response, error, bool) {
		resp := req.(*kmsg.SASLAuthenticateRequest).ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
		resp.ErrorMessage = &msg
		return resp, nil, true
	})
	k := testKafka()
	k.SASL = config.SASL{Mechanism: config.SASLScramSHA256, Username: "admin", Password: config.NewSecret("wrong")}
	p := newProducer(t, k, c, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.Ping(ctx)
	if Classify(err) != ReasonSASLFailed {
		t.Fatalf("Ping err = %v, want sasl_authentication_failed", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error shows the password: %v", err)
	}
	k.SASL.Password = config.NewSecret("right")
	ok := newProducer(t, k, c, nil)
	if err := ok.Ping(ctx); err != nil {
		t.Fatalf("Ping with the right password: %v", err)
	}
}

func TestAtomicPublishIsAllOrNothing(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "fhir.patient.created", "fhir.observation.created"))
	k := testKafka()
	k.Producer.MaxBatchBytes = 4096
	p := newProducer(t, k, c, prometheus.NewRegistry())
	ctx := context.Background()
	topics := []string{"fhir.patient.created", "fhir.observation.created"}

	committed := []*kgo.Record{rec(topics[0], "P1", "c1"), rec(topics[1], "P1", "c2"), rec(topics[1], "P1", "c3")}
	dels, err := p.Publish(ctx, committed, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(dels) != 3 || dels[0].Topic != topics[0] || dels[2].Offset != dels[1].Offset+1 {
		t.Fatalf("deliveries %+v", dels)
	}

	tooLarge := []*kgo.Record{rec(topics[0], "P2", "a1"), rec(topics[1], "P2", "a2"), rec(topics[1], "P2", strings.Repeat("z", 8192))}
	if _, err := p.Publish(ctx, tooLarge, true); Classify(err) != ReasonRecordTooLarge {
		t.Fatalf("err = %v, want record_too_large", err)
	}

	// A commit the coordinator refuses is aborted, never half visible.
	// (Flush first: the abort above ends in the background and must not
	// meet the fault.)
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Err: kerr.TransactionAbortable, Count: 1})
	if _, err := p.Publish(ctx, []*kgo.Record{rec(topics[0], "P3", "e1"), rec(topics[1], "P3", "e2")}, true); err == nil {
		t.Fatal("a refused commit reported success")
	}

	// The slot recovered: a later transaction commits.
	if _, err := p.Publish(ctx, []*kgo.Record{rec(topics[0], "P4", "d1"), rec(topics[1], "P4", "d2")}, true); err != nil {
		t.Fatal(err)
	}
	for _, tp := range topics {
		if _, err := p.Publish(ctx, []*kgo.Record{rec(tp, "z", "stop")}, false); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	for _, tp := range topics {
		for _, r := range readCommitted(t, c, "stop", tp) {
			seen = append(seen, string(r.Value[:min(len(r.Value), 2)]))
		}
	}
	got := strings.Join(sortStrings(seen), ",")
	if got != "c1,c2,c3,d1,d2" {
		t.Fatalf("read_committed saw %s, want c1,c2,c3,d1,d2", got)
	}
}

func TestConcurrentAtomicPublishesStayApart(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "bundle"))
	k := testKafka()
	k.Producer.MaxBatchBytes = 4096
	p := newProducer(t, k, c, nil)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs := make([]*kgo.Record, 4)
			for i := range recs {
				recs[i] = rec("bundle", "k", fmt.Sprintf("g%d-%d", g, i))
			}
			if g%2 == 1 { // odd publishes carry a record the client refuses
				recs[3].Value = bytes.Repeat([]byte("y"), 8192)
			}
			_, errs[g] = p.Publish(context.Background(), recs, true)
		}()
	}
	wg.Wait()
	for g, err := range errs {
		if (g%2 == 1) != (err != nil) {
			t.Fatalf("publish %d: err = %v", g, err)
		}
	}
	if _, err := p.Publish(context.Background(), []*kgo.Record{rec("bundle", "k", "stop")}, false); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range readCommitted(t, c, "stop", "bundle") {
		g, _, _ := strings.Cut(string(r.Value), "-")
		count[g]++
	}
	for g := range n {
		want := 4
		if g%2 == 1 {
			want = 0
		}
		if got := count[fmt.Sprintf("g%d", g)]; got != want {
			t.Errorf("publish %d: %d records visible, want %d (all: %v)", g, got, want, count)
		}
	}
}

func TestMetricsAreRegisteredOnce(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))
	reg := prometheus.NewRegistry()
	p := newProducer(t, testKafka(), c, reg)
	if _, err := p.Publish(context.Background(), []*kgo.Record{rec("t", "k", "v")}, false); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"gateway_kafka_produce_latency_seconds", "gateway_kafka_buffered_records",
		"gateway_kafka_buffered_bytes", "gateway_kafka_broker_connected"} {
		if !names[want] {
			t.Errorf("metric %s not gathered", want)
		}
	}
	if _, err := New(context.Background(), testKafka(), c.ListenAddrs(), reg, nil); err == nil {
		t.Error("a second producer on the same registry should fail to register")
	}
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
