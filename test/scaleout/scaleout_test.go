// Package scaleout_test runs three gateway processes behind HAProxy (from
// Debian, on loopback) on a real 3-broker Apache Kafka cluster and checks
// issue 17's scale-out claims: a pause on one instance stops the others
// within the stated bound, a resend routed to another instance is not
// stored twice, and while senders stream MLLP and transaction Bundles
// through the balancer and one gateway is SIGKILLed and another drained,
// nothing is answered AA/200 without its record, no transaction is partial
// and no transactional producer is fenced.
//
// The tests skip unless KAFKA_TESTS is set (`make test` sets it); with it,
// a missing haproxy fails them (test/scaleout/haproxy.sh install).
package scaleout_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/internal/gatewayproc"
	"github.com/hl7gw/gateway/test/kafka/kafkatest"
)

// basePort: brokers 19950-19952, controllers 20050-20052, apart from the
// other real-Kafka suites.
const basePort = 19950

const (
	hl7Topic  = "hl7.adt.a01"
	fhirTopic = "fhir.patient.created"
)

var (
	// runID makes this run's control ids and Patient ids its own: the
	// cluster's data directory, and so its topics, outlive a run.
	runID      = strconv.FormatInt(time.Now().UnixMilli(), 36)
	kc         *kafkatest.Cluster
	gatewayBin string
	adtA01     []byte
)

func TestMain(m *testing.M) {
	if !kafkatest.Enabled() {
		os.Exit(m.Run())
	}
	os.Exit(setUp(m))
}

func setUp(m *testing.M) int {
	var err error
	if adtA01, err = os.ReadFile(corpus.Path(corpus.HL7, "valid/fhirconv-ADT01-28.hl7")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "scaleout-gateway-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if gatewayBin, err = gatewayproc.Build(context.Background(), tmp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := kafkatest.Launch(ctx, kafkatest.Options{Brokers: 3, BasePort: basePort})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start Kafka:", err)
		return 1
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer dcancel()
		_ = c.Down(dctx)
	}()
	if err := c.CreateTopics(ctx, 3, hl7Topic, fhirTopic, "hl7.dlq", "fhir.dlq"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	kc = c
	return m.Run()
}

// need returns the cluster, skipping when real-Kafka tests are off, and
// fails when haproxy is missing.
func need(t *testing.T) *kafkatest.Cluster {
	t.Helper()
	if kc == nil {
		t.Skipf("real Kafka tests are off: set %s=1", kafkatest.EnvEnable)
	}
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Fatal("haproxy not found: bash test/scaleout/haproxy.sh install")
	}
	return kc
}

// records reads topic from the start (read_committed) up to its end
// offsets and returns every record.
func records(t *testing.T, c *kafkatest.Cluster, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl := c.Client(t, kafkatest.Admin, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(500*time.Millisecond))
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for {
		// The last offset of a partition may be a transaction marker that
		// never shows: stop after 5 s without a record.
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r); n++ })
		done := true
		ends.Each(func(o kadm.ListedOffset) {
			if o.Offset > 0 && !reached(recs, o.Partition, o.Offset) {
				done = false
			}
		})
		if done || n == 0 || ctx.Err() != nil {
			return recs
		}
	}
}

func reached(recs []*kgo.Record, p int32, end int64) bool {
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Partition == p && recs[i].Offset >= end-1 {
			return true
		}
	}
	return false
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}
