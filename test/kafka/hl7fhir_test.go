package kafka_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/hl7/v2fhir"
	"github.com/hl7gw/gateway/ingest/mllp"
	"github.com/hl7gw/gateway/internal/gatewayproc"
	"github.com/hl7gw/gateway/test/kafka/kafkatest"
)

// The stream conversion scenario (issue 16): a gateway on the 3-broker
// cluster converts ADT^A01 to FHIR. Its topics carry convPrefix so that
// they are this test's alone.
const (
	convPrefix = "conv."
	// Producer timings: short, so that a message caught by the outage is
	// answered AR within it.
	convDelivery = 6 * time.Second
	convRequest  = 2 * time.Second
	// convOutage is how long two brokers stay down: longer than a
	// publish may take, so some messages are answered AR.
	convOutage = convDelivery + convRequest + 2*time.Second
	// convSenders are the MLLP connections sending at once.
	convSenders = 8
)

// convMessage is ADT^A01 number n: MSH-10 "CV<n>", its own patient and
// visit.
func convMessage(n int) []byte {
	return fmt.Appendf(nil, "MSH|^~\\&|ADMIT|NORTH|RCV|RFAC|20240101120000||ADT^A01^ADT_A01|CV%d|P|2.5.1\r"+
		"EVN|A01|20240101120000\r"+
		"PID|1||P%d^^^HOSP^MR||DOE^JANE||19700101|F\r"+
		"PV1|1|I|||||||||||||||||V%d^^^HOSP^VN|||||||||||||||||||||||||20240101113000\r", n, n, n)
}

// convTopics are the topics one message's records go to: the raw
// record's first, then one per converted resource (Patient, Encounter,
// Provenance), as v2fhir converts it.
func convTopics(t *testing.T) []string {
	t.Helper()
	m, err := hl7.Parse(convMessage(0))
	if err != nil {
		t.Fatal(err)
	}
	res, err := v2fhir.Convert(m, v2fhir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{convPrefix + "hl7.adt.a01"}
	for _, e := range res.Entries {
		out = append(out, convPrefix+"fhir."+strings.ToLower(e.Type)+"."+e.Op.String())
	}
	for _, want := range []string{"fhir.patient.created", "fhir.encounter.created"} {
		if !slices.Contains(out, convPrefix+want) {
			t.Fatalf("the message converts to %v, without %s", out, want)
		}
	}
	return out
}

// convAnswers records each message's ACK code ("" when none came).
type convAnswers struct {
	mu   sync.Mutex
	next int
	code map[int]string
	at   map[int]time.Time
}

// send sends messages one after another on one MLLP connection (a new one
// after a failure) until ctx ends.
func (a *convAnswers) send(ctx context.Context, addr string) {
	var cl *mllp.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	for ctx.Err() == nil {
		a.mu.Lock()
		n := a.next
		a.next++
		a.at[n] = time.Now()
		a.mu.Unlock()
		code := ""
		if cl == nil {
			cl, _ = mllp.Dial(context.Background(), addr, nil)
		}
		if cl != nil {
			sctx, cancel := context.WithTimeout(context.Background(), convDelivery+convRequest+20*time.Second)
			ack, err := cl.Send(sctx, convMessage(n))
			cancel()
			if err != nil {
				cl.Close()
				cl = nil
			} else if info, err := hl7.ParseACK(ack); err == nil {
				code = info.Code
			}
		}
		a.mu.Lock()
		a.code[n] = code
		a.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// acceptedSince reports whether a message sent after t was answered AA.
func (a *convAnswers) acceptedSince(t time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for n, c := range a.code {
		if c == "AA" && a.at[n].After(t) {
			return true
		}
	}
	return false
}

func (a *convAnswers) counts() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for _, c := range a.code {
		out[c]++
	}
	return out
}

// TestConvertedADTIsCommittedWithItsRawRecordOrNotAtAll sends ADT^A01 over
// 8 MLLP connections to a gateway converting it (so that several messages
// share a transaction), while two of the three brokers are
// SIGKILLed (min.insync.replicas 2 cannot be met, the controller quorum is
// lost) and brought back. A read_committed consumer must then see, for
// every message, its raw record, its Patient, its Encounter and its
// Provenance all, or none of them; and all of them for every message
// answered AA.
func TestConvertedADTIsCommittedWithItsRawRecordOrNotAtAll(t *testing.T) {
	c := need(t)
	start := time.Now()
	defer func() { t.Logf("conversion scenario took %s", time.Since(start).Round(time.Millisecond)) }()
	topics := convTopics(t)
	c.WaitHealthy(t, 2*time.Minute)
	createConvTopics(t, c, topics)
	t.Cleanup(func() {
		// Leave the cluster whole for the tests after this one.
		if !c.Running(1) || !c.Running(2) {
			c.Start(t, 1)
		}
		c.WaitHealthy(t, 3*time.Minute)
	})
	g := startConvGateway(t, c)

	a := &convAnswers{code: map[int]string{}, at: map[int]time.Time{}}
	ctx, stop := context.WithCancel(context.Background())
	var senders sync.WaitGroup
	// More senders than the gateway's 4 transactional clients, so that
	// concurrent messages share transactions (hl7door.TxGroups).
	for range convSenders {
		senders.Go(func() { a.send(ctx, g.MLLPAddr) })
	}
	defer func() { stop(); senders.Wait() }()
	for !a.acceptedSince(start) && time.Since(start) < time.Minute {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if !a.acceptedSince(start) {
		t.Fatalf("no message answered AA before the faults: %v\n%s", a.counts(), g.Tail(3000))
	}
	c.Kill(t, 1)
	c.Kill(t, 2)
	t.Logf("nodes 1 and 2 SIGKILLed; answers so far %v", a.counts())
	time.Sleep(convOutage)
	t.Logf("after %s with two nodes down: answers so far %v", convOutage, a.counts())
	c.Start(t, 1) // kafka.sh up starts both
	back := time.Now()
	for !a.acceptedSince(back) && time.Since(back) < 2*time.Minute {
		time.Sleep(250 * time.Millisecond)
	}
	recovered := a.acceptedSince(back)
	time.Sleep(time.Second)
	stop()
	senders.Wait()
	codes := a.counts()
	t.Logf("%d messages: answers %v (\"\" = none); recovery took %s", a.next, codes, time.Since(back).Round(time.Millisecond))
	if !recovered {
		t.Errorf("no message sent after the brokers' return was answered AA within 2 minutes")
	}
	if codes["AA"] == a.next {
		t.Errorf("every message answered AA: the faults hit no transaction, the scenario tested nothing")
	}
	t.Logf("gateway transactions: %s", transactionCounts(g))
	c.WaitHealthy(t, 3*time.Minute)
	settled := c.WaitStable(t, 3*time.Minute, topics...)
	t.Logf("open transactions settled after %s", settled.Round(time.Millisecond))
	seen := readConverted(t, c, topics)

	a.mu.Lock()
	defer a.mu.Unlock()
	whole, none, partial, aaMissing := 0, 0, 0, 0
	for n := range a.next {
		per := seen[fmt.Sprintf("CV%d", n)]
		got := make([]int, len(topics))
		for i, tp := range topics {
			got[i] = per[tp]
		}
		switch {
		case slices.Max(got) == 0:
			none++
			if a.code[n] == "AA" {
				aaMissing++
				t.Errorf("message CV%d was answered AA but none of its records is committed", n)
			}
		case slices.Min(got) == 1 && slices.Max(got) == 1:
			whole++
		default:
			partial++
			t.Errorf("message CV%d (answer %q) is committed in part: %v records in %v", n, a.code[n], got, topics)
		}
	}
	t.Logf("read_committed: %d messages whole, %d not at all, %d in part; %d answered AA and missing", whole, none, partial, aaMissing)
	if whole < codes["AA"] {
		t.Errorf("%d messages whole, fewer than the %d answered AA", whole, codes["AA"])
	}
}

// createConvTopics creates the scenario's topics with 3 partitions, RF 3
// and min.insync.replicas 2.
func createConvTopics(t *testing.T, c *kafkatest.Cluster, topics []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.CreateTopics(ctx, 3, topics...); err != nil {
		t.Fatal(err)
	}
	c.WaitHealthy(t, time.Minute, topics...)
}

// startConvGateway runs a gateway on the cluster (as the superuser, who
// may use transactional ids) with one MLLP connector converting ADT^A01.
func startConvGateway(t *testing.T, c *kafkatest.Cluster) *gatewayproc.Proc {
	t.Helper()
	dir := t.TempDir()
	bin := os.Getenv("GATEWAY_BIN") // a built gateway, else one is built here
	if bin == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var err error
		if bin, err = gatewayproc.Build(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}
	quoted := make([]string, 0, 3)
	for _, b := range c.Brokers() {
		quoted = append(quoted, fmt.Sprintf("%q", b))
	}
	cfg := fmt.Sprintf(`kafka:
  brokers: [%s]
  client_id: conv-test
  tls: {enabled: true, ca_file: %q}
  sasl: {mechanism: SCRAM-SHA-256, username: admin, password: %q}
  producer: {delivery_timeout: %s, request_timeout: %s}
  topics: {create: true, partitions: 3, replication_factor: 3, min_insync_replicas: 2}
instance_id: conv-test
connectors:
  - name: adt
    type: hl7-mllp
    config:
      topic.prefix: %q
      hl7.fhir.convert: [ADT^A01]
`, strings.Join(quoted, ", "), c.Env("KAFKA_CA_FILE"), c.Password(kafkatest.Admin), convDelivery, convRequest, convPrefix)
	g, err := gatewayproc.Start(bin, gatewayproc.Options{Dir: dir, Config: cfg, ReadyWithin: 90 * time.Second})
	t.Cleanup(func() {
		g.Stop()
		if t.Failed() {
			t.Logf("gateway output:\n%s", g.Tail(4000))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// readConverted reads every topic with read_committed, up to a sentinel
// written to each partition after the transactions settled, and counts the
// records of each message (by hl7.control_id) per topic.
func readConverted(t *testing.T, c *kafkatest.Cluster, topics []string) map[string]map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const sentinel = "--sentinel--"
	w := c.Client(t, kafkatest.Admin, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	want := 0
	for _, tp := range topics {
		for p := range int32(3) {
			if err := w.ProduceSync(ctx, &kgo.Record{Topic: tp, Partition: p, Value: []byte(sentinel)}).FirstErr(); err != nil {
				t.Fatalf("sentinel to %s[%d]: %v", tp, p, err)
			}
			want++
		}
	}
	cl := c.Client(t, kafkatest.Admin, kgo.ConsumeTopics(topics...), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]map[string]int{}
	for got := 0; got < want; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed reached %d of %d sentinels", got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == sentinel {
				got++
				return
			}
			id := ""
			for _, h := range r.Headers {
				if h.Key == "hl7.control_id" {
					id = string(h.Value)
				}
			}
			if seen[id] == nil {
				seen[id] = map[string]int{}
			}
			seen[id][r.Topic]++
		})
	}
	return seen
}

// transactionCounts is the gateway's gateway_kafka_transactions_total
// lines: fewer committed transactions than messages answered AA means
// messages shared them.
func transactionCounts(g *gatewayproc.Proc) string {
	resp, err := http.Get("http://" + g.HTTPAddr + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "gateway_kafka_transactions_total{") {
			out = append(out, strings.TrimPrefix(l, "gateway_kafka_transactions_total"))
		}
	}
	return strings.Join(out, " ")
}
