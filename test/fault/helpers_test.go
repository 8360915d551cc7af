package fault_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/internal/gatewayproc"
	"github.com/hl7gw/gateway/loadgen"
	"github.com/hl7gw/gateway/test/kafka/kafkatest"
)

// Topics the gateway writes for the test traffic (ADT^A01 over MLLP, Patient
// creates over REST) and its dead-letter topics. External clusters do not
// auto-create topics, so TestMain creates them with RF 3 and
// min.insync.replicas 2.
var dataTopics = []string{"hl7.adt.a01", "hl7.dlq", "fhir.patient.created", "fhir.dlq"}

const (
	hl7Topic  = "hl7.adt.a01"
	fhirTopic = "fhir.patient.created"
)

// Producer timings of the gateway under test. The delivery timeout bounds
// how long an unpublishable message waits for its AR; it is well above the
// brokers' session timeout (6s in kafka.sh) so that a single broker's crash,
// which takes a session timeout plus an election to heal (answers up to
// about 10.5s were seen on a 2-core machine), still ends in AA.
const (
	deliveryTimeout = 20 * time.Second
	requestTimeout  = 5 * time.Second
	// answerMargin is added to the delivery timeout for the slowest
	// answer we accept on a loaded 2-core machine.
	answerMargin = 20 * time.Second
)

// freeAddrs returns n loopback addresses nothing listens on right now.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var lns []net.Listener
	out := make([]string, n)
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		lns = append(lns, ln)
		out[i] = ln.Addr().String()
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return out
}

// gatewayProc is one `gateway serve` subprocess on a configuration file
// of its own; start runs it (again, after a kill, as the same instance).
type gatewayProc struct {
	*gatewayproc.Process
	cfgFile              string
	mllp, http, grpcAddr string
}

// writeConfig writes a gateway config for brokers with fresh loopback
// listener ports, topic creation on (RF 3, min.insync.replicas 2), the
// producer timings above and the default connectors.
func writeConfig(t *testing.T, brokers []string) *gatewayProc {
	t.Helper()
	return writeConfigWith(t, brokers, extraConfig{})
}

// extraConfig changes writeConfig's file for the SASL scenarios.
type extraConfig struct {
	// kafka is YAML added to the kafka: section, indented two spaces
	// (e.g. a sasl: block).
	kafka string
	// topics replaces the topics: block (indented four spaces); "" keeps
	// create on with RF 3 and min.insync.replicas 2.
	topics string
	// connectors is a top-level connectors: list; "%s" in it is
	// replaced by the MLLP address. "" keeps the defaults.
	connectors string
}

func writeConfigWith(t *testing.T, brokers []string, x extraConfig) *gatewayProc {
	t.Helper()
	addrs := freeAddrs(t, 3)
	quoted := make([]string, len(brokers))
	for i, b := range brokers {
		quoted[i] = strconv.Quote(b)
	}
	topics := x.topics
	if topics == "" {
		topics = "    create: true\n    partitions: 3\n    replication_factor: 3\n    min_insync_replicas: 2\n"
	}
	connectors := ""
	if x.connectors != "" {
		connectors = strings.ReplaceAll(x.connectors, "%s", strconv.Quote(addrs[0]))
	}
	cfg := fmt.Sprintf(`mllp_addr: %q
http_addr: %q
grpc_addr: %q
shutdown_timeout: 30s
log:
  level: info
  format: json
kafka:
  brokers: [%s]
  client_id: fault-test
  producer:
    delivery_timeout: %s
    request_timeout: %s
  topics:
%s%s
%s`, addrs[0], addrs[1], addrs[2], strings.Join(quoted, ", "), deliveryTimeout, requestTimeout, topics, x.kafka, connectors)
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &gatewayProc{cfgFile: path, mllp: addrs[0], http: addrs[1], grpcAddr: addrs[2]}
}

// start runs `gateway serve --config` and waits until /healthz answers,
// then, when ready is set, until /readyz answers 200. The process is
// killed when the test ends if it is still running.
func (g *gatewayProc) start(t *testing.T, ready bool) {
	t.Helper()
	g.Process = gatewayproc.Run(t, "gateway", gatewayBin, "serve", "--config", g.cfgFile)
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	g.WaitHTTP(t, "http://"+g.http+path, 90*time.Second)
}

// get returns the status of GET path on the HTTP listener.
func (g *gatewayProc) get(path string) (int, error) {
	return gatewayproc.Status("http://" + g.http + path)
}

// metrics returns the /metrics text.
func (g *gatewayProc) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + g.http + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// acks records the answers of one scenario: MLLP control id -> MSA-1 code
// ("" for a transport error) and REST Patient ids answered 201, plus
// counts of REST statuses.
type acks struct {
	mu        sync.Mutex
	mllp      map[string]string
	restOK    map[string]bool // "Patient/<id>" answered 201
	restCodes map[int]int     // status -> count; 0 = transport error
}

func newAcks() *acks {
	return &acks{mllp: map[string]string{}, restOK: map[string]bool{}, restCodes: map[int]int{}}
}

func (a *acks) onAck(id, code string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mllp[id] = code
}

// codes counts MLLP answers by code.
func (a *acks) codes() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for _, c := range a.mllp {
		out[c]++
	}
	return out
}

// ackedHL7 returns the control ids answered AA.
func (a *acks) ackedHL7() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for id, c := range a.mllp {
		if c == "AA" {
			out = append(out, id)
		}
	}
	return out
}

// unansweredHL7 returns the control ids that got a transport error.
func (a *acks) unansweredHL7() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for id, c := range a.mllp {
		if c == "" {
			out = append(out, id)
		}
	}
	return out
}

func (a *acks) ackedFHIR() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.restOK))
	for k := range a.restOK {
		out = append(out, k)
	}
	return out
}

func (a *acks) restStatuses() map[int]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[int]int{}
	for k, v := range a.restCodes {
		out[k] = v
	}
	return out
}

// postPatient POSTs one Patient and records the answer: on 201 the
// Location's "Patient/<id>". It returns the status (0 on transport error).
func (a *acks) postPatient(ctx context.Context, g *gatewayProc) int {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout+answerMargin)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+g.http+"/fhir/Patient", bytes.NewReader(patientJSON))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	status := 0
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.restCodes[status]++
	if status == http.StatusCreated {
		if key, ok := patientKey(resp.Header.Get("Location")); ok {
			a.restOK[key] = true
		} else {
			a.restCodes[-1]++ // 201 without a usable Location
		}
	}
	return status
}

// patientKey turns ".../fhir/Patient/<id>/_history/1" into "Patient/<id>".
func patientKey(loc string) (string, bool) {
	_, rest, ok := strings.Cut(loc, "/Patient/")
	if !ok {
		return "", false
	}
	id, _, _ := strings.Cut(rest, "/")
	return "Patient/" + id, id != ""
}

// restLoop POSTs Patients one after another until ctx ends, pausing
// between requests so that REST is a steady trickle beside MLLP. The end
// of ctx does not cancel the request in flight: its answer is awaited.
func (a *acks) restLoop(ctx context.Context, g *gatewayProc) {
	for ctx.Err() == nil {
		a.postPatient(context.Background(), g)
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// load sends ADT^A01 messages over MLLP with unique control ids starting
// with prefix, recording every answer in a. It runs for dur (or count
// messages when count > 0) at about rate msgs/s over conns connections.
func (a *acks) load(ctx context.Context, g *gatewayProc, prefix string, conns, count int, dur time.Duration, rate float64) (loadgen.Report, error) {
	return loadgen.Run(ctx, loadgen.Options{
		Addr: g.mllp, Messages: [][]byte{adtA01}, Connections: conns,
		Count: count, Duration: dur, Rate: rate,
		UniqueControlIDs: true, ControlIDPrefix: prefix,
		Timeout: deliveryTimeout + answerMargin,
		OnAck:   a.onAck,
	})
}

// checkInvariant is THE INVARIANT of every fault test: each MLLP control id
// answered AA is in hl7.adt.a01 and each Patient answered 201 is in
// fhir.patient.created, read with read_committed. Duplicates (the same id
// more than once) are allowed and logged; a missing one fails the test.
func checkInvariant(t *testing.T, c *kafkatest.Cluster, a *acks) {
	t.Helper()
	wantHL7, wantFHIR := a.ackedHL7(), a.ackedFHIR()
	need := make(map[string]int, len(wantHL7)+len(wantFHIR))
	for _, id := range wantHL7 {
		need["hl7:"+id] = 0
	}
	for _, k := range wantFHIR {
		need["fhir:"+k] = 0
	}
	unanswered := map[string]int{}
	for _, id := range a.unansweredHL7() {
		unanswered["hl7:"+id] = 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts, err := c.ClientOpts(kafkatest.Admin,
		kgo.ConsumeTopics(hl7Topic, fhirTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, hl7Topic, fhirTopic)
	if err != nil {
		t.Fatalf("end offsets: %v", err)
	}
	reached := map[string]map[int32]bool{}
	pending := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			if reached[o.Topic] == nil {
				reached[o.Topic] = map[int32]bool{}
			}
			reached[o.Topic][o.Partition] = false
			pending++
		}
	})
	found, records := 0, 0
	for pending > 0 && found < len(need) {
		// A partition whose last offset is a transaction marker never
		// shows a record at end-1: stop after 15s without any record.
		pctx, pcancel := context.WithTimeout(ctx, 15*time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil || pctx.Err() != nil && fs.NumRecords() == 0 {
			break
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Logf("fetch %s[%d]: %v", topic, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			records++
			var key string
			switch r.Topic {
			case hl7Topic:
				for _, h := range r.Headers {
					if h.Key == "hl7.control_id" {
						key = "hl7:" + string(h.Value)
					}
				}
			case fhirTopic:
				key = "fhir:" + string(r.Key)
			}
			if n, ok := unanswered[key]; ok {
				unanswered[key] = n + 1
			}
			if n, ok := need[key]; ok {
				if n == 0 {
					found++
				}
				need[key] = n + 1
			}
			end := ends[r.Topic][r.Partition].Offset
			if r.Offset+1 >= end && !reached[r.Topic][r.Partition] {
				reached[r.Topic][r.Partition] = true
				pending--
			}
		})
	}
	stored := 0 // sent, no answer (transport error), yet in Kafka
	for _, id := range a.unansweredHL7() {
		if n, ok := unanswered["hl7:"+id]; ok && n > 0 {
			stored++
		}
	}
	var missing []string
	dups := 0
	for k, n := range need {
		switch {
		case n == 0:
			missing = append(missing, k)
		case n > 1:
			dups += n - 1
		}
	}
	t.Logf("invariant: %d MLLP AA + %d REST 201 checked against %d records read; %d missing, %d duplicates; %d of %d MLLP messages without an answer were stored anyway",
		len(wantHL7), len(wantFHIR), records, len(missing), dups, stored, len(a.unansweredHL7()))
	if len(missing) > 0 {
		if len(missing) > 20 {
			missing = missing[:20]
		}
		t.Errorf("INVARIANT BROKEN: answered AA/201 but not in Kafka (first %d): %v", len(missing), missing)
	}
}

// exitCode returns the process exit status of a Wait error (0 for nil).
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
