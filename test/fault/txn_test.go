package fault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/internal/fhirgen"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/test/kafka/kafkatest"
)

// txEntries is the number of Patients in each transaction Bundle; their
// distinct partition keys spread one transaction over several partitions.
const txEntries = 5

// txPrefix starts the Patient ids of this scenario: "TXB<bundle>-<entry>",
// so a record's key "Patient/TXB12-3" names its Bundle and entry.
const txPrefix = "TXB"

// txEntryOf parses a record key "Patient/TXB<n>-<k>" into bundle n and
// entry k.
func txEntryOf(key []byte) (n, k int, ok bool) {
	rest, found := strings.CutPrefix(string(key), "Patient/"+txPrefix)
	if !found {
		return 0, 0, false
	}
	ns, ks, found := strings.Cut(rest, "-")
	n, err1 := strconv.Atoi(ns)
	k, err2 := strconv.Atoi(ks)
	return n, k, found && err1 == nil && err2 == nil && k >= 0 && k < txEntries
}

// txAnswers records each Bundle's HTTP answer.
type txAnswers struct {
	mu     sync.Mutex
	next   int
	status map[int]int           // bundle -> status; 0 = transport error
	at     map[int]time.Time     // bundle -> when it was sent
	took   map[int]time.Duration // bundle -> time to its answer
	bad    []string              // 200 answers that are not a full transaction-response
}

func newTxAnswers() *txAnswers {
	return &txAnswers{status: map[int]int{}, at: map[int]time.Time{}, took: map[int]time.Duration{}}
}

// post sends the next Bundle and records its answer. The request is bounded
// by the delivery timeout plus the margin, not by the caller's context.
func (a *txAnswers) post(g *gatewayProc) {
	a.mu.Lock()
	n := a.next
	a.next++
	sent := time.Now()
	a.at[n] = sent
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), txAnswerWithin)
	defer cancel()
	status, why := 0, ""
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+g.http+"/fhir", bytes.NewReader(fhirgen.PatientTransaction(fmt.Sprintf("%s%d-", txPrefix, n), txEntries, "Txn")))
	if err == nil {
		req.Header.Set("Content-Type", "application/fhir+json")
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
			if status == http.StatusOK {
				why = checkTxResponse(body)
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status[n] = status
	a.took[n] = time.Since(sent)
	if why != "" {
		a.bad = append(a.bad, fmt.Sprintf("bundle %d: %s", n, why))
	}
}

// checkTxResponse returns why body is not a transaction-response with one
// "201 Created" entry per request entry, or "".
func checkTxResponse(body []byte) string {
	var b struct {
		Type  string `json:"type"`
		Entry []struct {
			Response struct {
				Status string `json:"status"`
			} `json:"response"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.Type != "transaction-response" || len(b.Entry) != txEntries {
		return fmt.Sprintf("not a transaction-response with %d entries (%v)", txEntries, err)
	}
	for i, e := range b.Entry {
		if e.Response.Status != "201 Created" {
			return fmt.Sprintf("entry %d answered %q", i, e.Response.Status)
		}
	}
	return ""
}

// loop posts Bundles one after another until ctx ends; the Bundle in
// flight when it ends is awaited.
func (a *txAnswers) loop(ctx context.Context, g *gatewayProc) {
	for ctx.Err() == nil {
		a.post(g)
		select {
		case <-ctx.Done():
		case <-time.After(30 * time.Millisecond):
		}
	}
}

// okSince reports whether a Bundle sent after t was answered 200.
func (a *txAnswers) okSince(t time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for n, st := range a.status {
		if st == http.StatusOK && a.at[n].After(t) {
			return true
		}
	}
	return false
}

// slowest returns the longest answer time and its bundle.
func (a *txAnswers) slowest() (time.Duration, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var max time.Duration
	n := -1
	for b, d := range a.took {
		if d > max {
			max, n = d, b
		}
	}
	return max, n
}

// statuses counts the answers by status.
func (a *txAnswers) statuses() map[int]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[int]int{}
	for _, st := range a.status {
		out[st]++
	}
	return out
}

// txVictims picks the brokers to kill: first the transaction coordinator of
// most of the gateway's transactional ids, then one of the other two. Before
// that it moves the leadership of every transaction-log partition and every
// Patient partition onto the first victim: the worst case, where one
// SIGKILL takes the coordinator of every transaction and the leader of
// every partition they write at once. That placement happens by chance in
// about one run in four, and it is the one that once let a record of an
// aborted transaction be committed with the next one (publish.abort).
func txVictims(t *testing.T, adm *kadm.Client) (first, second int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := publish.ForInstance(config.Default().Kafka, txInstanceID).Producer
	ids := make([]string, p.TransactionalProducers)
	for i := range ids {
		ids[i] = p.TransactionalIDPrefix + "-" + strconv.Itoa(i)
	}
	coordinators := func() map[int]int {
		coords := map[int]int{}
		for _, r := range adm.FindTxnCoordinators(ctx, ids...) {
			if r.Err == nil {
				coords[int(r.NodeID)]++
			}
		}
		return coords
	}
	nodes := []int{0, 1, 2}
	coords := coordinators()
	slices.SortStableFunc(nodes, func(x, y int) int { return coords[y] - coords[x] })
	first = nodes[0]
	leadOn(ctx, t, adm, int32(first), "__transaction_state", fhirTopic)
	// Wait until every id's coordinator has moved with its partition.
	for coords = coordinators(); coords[first] != len(ids) && ctx.Err() == nil; coords = coordinators() {
		time.Sleep(200 * time.Millisecond)
	}
	leads, parts := map[int]int{}, 0
	if tds, err := adm.ListTopics(ctx, fhirTopic); err == nil {
		parts = len(tds[fhirTopic].Partitions)
		for _, pd := range tds[fhirTopic].Partitions {
			leads[int(pd.Leader)]++
		}
	}
	t.Logf("transaction coordinators (node: ids) %v, Patient topic leaders (node: partitions) %v", coords, leads)
	if coords[first] != len(ids) || leads[first] != parts {
		t.Logf("leadership did not move entirely onto node %d; the scenario runs with the placement above", first)
	}
	return first, nodes[1]
}

// leadOn makes node the preferred and elected leader of every partition of
// topics it holds a replica of: it moves node to the head of the replica
// list (the same replicas, so nothing is copied) and elects preferred
// leaders, then waits until node leads them all or ctx ends.
func leadOn(ctx context.Context, t *testing.T, adm *kadm.Client, node int32, topics ...string) {
	t.Helper()
	tds, err := adm.ListTopicsWithInternal(ctx, topics...)
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	var req kadm.AlterPartitionAssignmentsReq
	want := 0
	for _, td := range tds {
		for _, pd := range td.Partitions {
			if pd.Leader == node || !slices.Contains(pd.Replicas, node) {
				continue
			}
			replicas := append([]int32{node}, slices.DeleteFunc(slices.Clone(pd.Replicas), func(r int32) bool { return r == node })...)
			req.Assign(td.Topic, pd.Partition, replicas)
			want++
		}
	}
	if want == 0 {
		return
	}
	if _, err := adm.AlterPartitionAssignments(ctx, req); err != nil {
		t.Fatalf("reorder replicas: %v", err)
	}
	for ctx.Err() == nil {
		if _, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, topicsSet(tds)); err != nil {
			t.Logf("elect preferred leaders: %v", err)
		}
		tds, err = adm.ListTopicsWithInternal(ctx, topics...)
		if err == nil && ledBy(tds, node) {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func topicsSet(tds kadm.TopicDetails) kadm.TopicsSet {
	s := kadm.TopicsSet{}
	for _, td := range tds {
		for _, pd := range td.Partitions {
			s.Add(td.Topic, pd.Partition)
		}
	}
	return s
}

// ledBy reports whether node leads every partition it is a replica of.
func ledBy(tds kadm.TopicDetails, node int32) bool {
	for _, td := range tds {
		for _, pd := range td.Partitions {
			if pd.Leader != node && slices.Contains(pd.Replicas, node) {
				return false
			}
		}
	}
	return true
}

// Producer timings of the transaction scenario: shorter than the other
// scenarios' so that a Bundle caught by the two-broker outage fails (503,
// its transaction aborted or left to the coordinator) well within the
// outage, instead of waiting for the brokers' return.
const (
	txDeliveryTimeout = 8 * time.Second
	txRequestTimeout  = 3 * time.Second
	// txOutage is how long two brokers stay down: longer than a Publish
	// call may take (delivery plus request timeout).
	txOutage = txDeliveryTimeout + txRequestTimeout + 3*time.Second
	// txAnswerWithin bounds the wait for an answer: the longest a Publish
	// call may take plus the margin of a loaded machine.
	txAnswerWithin = txDeliveryTimeout + txRequestTimeout + answerMargin
)

// txInstanceID is the transaction scenario's gateway instance id; its
// transactional ids are derived from it (publish.ForInstance).
const txInstanceID = "fault-tx"

// writeTxConfig is writeConfig with the transaction scenario's timings.
func writeTxConfig(t *testing.T, brokers []string) *gatewayProc {
	t.Helper()
	g := writeConfig(t, brokers)
	b, err := os.ReadFile(g.cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	old := fmt.Sprintf("delivery_timeout: %s\n    request_timeout: %s\n", deliveryTimeout, requestTimeout)
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("gateway config has no %q to change:\n%s", old, b)
	}
	b = bytes.Replace(b, []byte(old), fmt.Appendf(nil, "delivery_timeout: %s\n    request_timeout: %s\n", txDeliveryTimeout, txRequestTimeout), 1)
	// Debug: the kafka client's producer id loads, epoch bumps and
	// transaction ends, which a partial transaction is explained by.
	b = bytes.Replace(b, []byte("log:\n  level: info\n"), []byte("log:\n  level: debug\n"), 1)
	// A fixed instance id, so that txVictims knows the transactional ids.
	if !bytes.HasSuffix(b, []byte("\n")) {
		b = append(b, '\n')
	}
	b = append(b, "instance_id: "+txInstanceID+"\n"...)
	if err := os.WriteFile(g.cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestTransactionBundleUnderBrokerFailures sends transaction Bundles of
// txEntries Patients from four clients while the transaction coordinator
// is SIGKILLed, then a second broker (min.insync.replicas and the
// transaction log's min ISR cannot be met, the controller quorum is lost),
// and both are brought back. A read_committed consumer must then see every
// Bundle whole or not at all, and every Bundle answered 200 whole.
func TestTransactionBundleUnderBrokerFailures(t *testing.T) {
	c := need(t)
	start := time.Now()
	defer func() { t.Logf("transaction scenario took %s", time.Since(start).Round(time.Millisecond)) }()
	healthy(t)
	g := writeTxConfig(t, c.Brokers())
	g.start(t, true)

	a := newTxAnswers()
	ctx, stop := context.WithCancel(context.Background())
	var senders sync.WaitGroup
	for range 4 {
		senders.Go(func() { a.loop(ctx, g) })
	}
	for !a.okSince(start) && time.Since(start) < time.Minute {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	if !a.okSince(start) {
		t.Errorf("no transaction Bundle answered 200 before the faults: %v", a.statuses())
	}
	first, second := txVictims(t, c.AdminClient(t))
	c.Kill(t, first)
	t.Logf("node %d (transaction coordinator) SIGKILLed; answers so far %v", first, a.statuses())
	time.Sleep(4 * time.Second)
	c.Kill(t, second)
	t.Logf("node %d (partition leader) SIGKILLed: min.insync.replicas 2 and the transaction log cannot be met; answers so far %v", second, a.statuses())
	time.Sleep(txOutage)
	t.Logf("after %s with two nodes down: answers so far %v", txOutage, a.statuses())
	c.Start(t, first) // kafka.sh up starts both
	back := time.Now()
	t.Logf("nodes %d and %d restarted; answers so far %v", first, second, a.statuses())
	for !a.okSince(back) && time.Since(back) < 2*time.Minute {
		time.Sleep(250 * time.Millisecond)
	}
	recovered := a.okSince(back)
	time.Sleep(2 * time.Second)
	stop()
	senders.Wait()
	sts := a.statuses()
	t.Logf("%d transaction Bundles of %d entries: statuses %v (0 = no answer); recovery took %s",
		a.next, txEntries, sts, time.Since(back).Round(time.Millisecond))
	if slow, n := a.slowest(); slow >= txAnswerWithin {
		t.Errorf("bundle %d had no answer within %s (the longest a publish may take plus %s)", n, txAnswerWithin, answerMargin)
	} else {
		t.Logf("slowest answer: bundle %d, %s", n, slow.Round(time.Millisecond))
	}
	if !recovered {
		t.Errorf("no Bundle sent after the brokers' return was answered 200 within 2 minutes")
	}
	if sts[http.StatusOK] == a.next {
		t.Errorf("every Bundle answered 200: the faults hit no transaction, the scenario tested nothing")
	}
	for _, why := range a.bad {
		t.Errorf("malformed 200 answer: %s", why)
	}
	if n := strings.Count(g.Out.String(), "its producer epoch changed"); n > 0 {
		t.Logf("%d transactions aborted because the producer epoch changed under them (publish.ErrEpochChanged)", n)
	}
	healthy(t)
	checkTransactions(t, c, a, g)
}

// checkTransactions reads the Patient topic with read_committed and fails
// the test for every Bundle seen in part, and for every Bundle answered 200
// not seen whole. It first waits until no transaction is open (the last
// stable offset reaches the high watermark), then writes a sentinel record
// to each partition and reads up to them, so that nothing committed is
// missed.
func checkTransactions(t *testing.T, c *kafkatest.Cluster, a *txAnswers, g *gatewayProc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	settled := c.WaitStable(t, 3*time.Minute, fhirTopic)
	t.Logf("open transactions settled after %s", settled.Round(time.Millisecond))
	sentinel := writeSentinels(ctx, t, c)
	committed, crecs, _ := readBundles(ctx, t, c, kgo.ReadCommitted(), sentinel)
	_, urecs, written := readBundles(ctx, t, c, kgo.ReadUncommitted(), sentinel)

	a.mu.Lock()
	defer a.mu.Unlock()
	var partial, okMissing []string
	var partialN []int
	refusedStored, unansweredStored, dups := 0, 0, 0
	for n := range a.next {
		seen := committed[n]
		distinct := 0
		for _, cnt := range seen {
			if cnt > 0 {
				distinct++
				dups += cnt - 1
			}
		}
		st := a.status[n]
		switch {
		case distinct != 0 && distinct != txEntries:
			partialN = append(partialN, n)
			partial = append(partial, fmt.Sprintf("bundle %d (answered %d): %d of %d entries %v, written %v", n, st, distinct, txEntries, seen, written[n]))
		case st == http.StatusOK && distinct == 0:
			okMissing = append(okMissing, strconv.Itoa(n))
		case st >= 500 && distinct == txEntries:
			refusedStored++
		case st == 0 && distinct == txEntries:
			unansweredStored++
		}
		if st != 0 && st != http.StatusOK && st < 500 {
			t.Errorf("bundle %d answered %d, want 200 or 5xx", n, st)
		}
	}
	t.Logf("read_committed: %d records of this scenario; read_uncommitted: %d (%d aborted or uncommitted); "+
		"%d Bundles committed though answered 5xx, %d committed without an answer; %d duplicate entries",
		crecs, urecs, urecs-crecs, refusedStored, unansweredStored, dups)
	if len(partial) > 0 {
		t.Logf("the gateway's producer id and epoch changes:\n%s", epochLines(g.Out.String(), 80))
		// A second opinion from other fetch boundaries: the consumer
		// filters aborted batches per fetch response, so a disagreement
		// points at the reading, not at what Kafka committed.
		again, _, _ := readBundles(ctx, t, c, kgo.ReadCommitted(), sentinel, kgo.FetchMaxPartitionBytes(1), kgo.FetchMaxBytes(1))
		for _, n := range partialN {
			t.Logf("bundle %d read again one batch per fetch: entries seen %v", n, again[n])
		}
		t.Errorf("PARTIAL TRANSACTION visible to read_committed (%d Bundles): %v", len(partial), head(partial, 10))
	}
	if len(okMissing) > 0 {
		t.Errorf("Bundles answered 200 but not in Kafka (%d): %v", len(okMissing), head(okMissing, 20))
	}
}

// epochLines returns the last n lines of a gateway log that tell a
// transactional client's producer id loads, failures and epoch bumps.
func epochLines(log string, n int) string {
	var keep []string
	for line := range strings.Lines(log) {
		for _, w := range []string{"producer id", "producer ID", "epoch", "transaction aborted", "replacing kafka transactional", "end transaction"} {
			if strings.Contains(line, w) {
				keep = append(keep, line)
				break
			}
		}
	}
	return strings.Join(keep[max(len(keep)-n, 0):], "")
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// writeSentinels produces one record with a fresh key to every partition
// of the Patient topic and returns that key.
func writeSentinels(ctx context.Context, t *testing.T, c *kafkatest.Cluster) string {
	t.Helper()
	key := "sentinel-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cl := c.Client(t, kafkatest.Admin, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	tds, err := kadm.NewClient(cl).ListTopics(ctx, fhirTopic)
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	var recs []*kgo.Record
	for _, p := range tds[fhirTopic].Partitions.Numbers() {
		recs = append(recs, &kgo.Record{Topic: fhirTopic, Partition: p, Key: []byte(key)})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("sentinels: %v", err)
	}
	return key
}

// readBundles reads the Patient topic from the start with isolation level
// until it has seen the sentinel on every partition. It returns, for each
// Bundle of this scenario, how often each entry was seen, how many of the
// scenario's records it read, and where each Bundle's records are (entry,
// partition, offset, producer id and epoch: what tells a partial
// transaction's cause).
func readBundles(ctx context.Context, t *testing.T, c *kafkatest.Cluster, iso kgo.IsolationLevel, sentinel string, opts ...kgo.Opt) (map[int][txEntries]int, int, map[int][]string) {
	t.Helper()
	cl := c.Client(t, kafkatest.Admin, append([]kgo.Opt{
		kgo.ConsumeTopics(fhirTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(iso),
		kgo.FetchMaxWait(500 * time.Millisecond)}, opts...)...)
	tds, err := kadm.NewClient(cl).ListTopics(ctx, fhirTopic)
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	pending := len(tds[fhirTopic].Partitions)
	seen := map[int][txEntries]int{}
	where := map[int][]string{}
	records := 0
	for pending > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %d partitions without their sentinel: %v", fhirTopic, pending, ctx.Err())
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s[%d]: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Key) == sentinel {
				pending--
				return
			}
			if n, k, ok := txEntryOf(r.Key); ok {
				e := seen[n]
				e[k]++
				seen[n] = e
				where[n] = append(where[n], fmt.Sprintf("%d:p%d@%d/pid%d.%d", k, r.Partition, r.Offset, r.ProducerID, r.ProducerEpoch))
				records++
			}
		})
	}
	return seen, records, where
}
