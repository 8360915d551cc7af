package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/publish"
)

func start(t *testing.T) *Broker {
	t.Helper()
	b, err := Start(context.Background(), "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestStartFailsClearlyWhenThePortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, err = Start(context.Background(), addr, nil)
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "embedded_kafka_addr") {
		t.Fatalf("err = %v, want it to name %s and the setting", err, addr)
	}
}

func TestStartRefusesBadInput(t *testing.T) {
	if _, err := Start(context.Background(), "no-port", nil); err == nil {
		t.Error("a malformed address started a broker")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(ctx, "127.0.0.1:0", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("done ctx: err = %v", err)
	}
}

func TestUnspecifiedHostIsAdvertisedAsLoopback(t *testing.T) {
	b, err := Start(context.Background(), "0.0.0.0:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a := b.Addrs()[0]; !strings.HasPrefix(a, "127.0.0.1:") {
		t.Fatalf("advertised %s", a)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// hl7Records are HL7 v2 messages as a sender would send them: segments
// separated by \r and a windows-1252 byte (0xE9) that is not UTF-8.
func hl7Records(topic string) []*kgo.Record {
	var recs []*kgo.Record
	for i := range 5 {
		v := fmt.Sprintf("MSH|^~\\&|LAB|HOSP|GW|HOSP|20240101120000||ADT^A01^ADT_A01|CTRL%d|P|2.5.1\rPID|1||P%d^^^HOSP||Ren\xe9e^Test\r", i, i)
		recs = append(recs, &kgo.Record{
			Topic: topic,
			Key:   []byte(fmt.Sprintf("P%d^^^HOSP", i)),
			Value: []byte(v),
			Headers: []kgo.RecordHeader{
				{Key: "content-type", Value: []byte("application/hl7-v2")},
				{Key: "hl7.control_id", Value: []byte(fmt.Sprintf("CTRL%d", i))},
			},
		})
	}
	return recs
}

func newProducer(t *testing.T, b *Broker) *publish.Producer {
	t.Helper()
	k := config.Default().Kafka
	p, err := publish.New(context.Background(), k, b.Addrs(), nil, nil, kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestGatewayProducerWritesAndTransactsOnEmbeddedBroker(t *testing.T) {
	b := start(t)
	p := newProducer(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	recs := hl7Records("hl7.adt.a01")
	dels, err := p.Publish(ctx, recs[:2], false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, recs[2:], true); err != nil {
		t.Fatalf("atomic publish: %v", err)
	}
	if dels[0].Partition < 0 || dels[0].Partition >= DefaultPartitions {
		t.Errorf("partition %d outside the %d default partitions", dels[0].Partition, DefaultPartitions)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics("hl7.adt.a01"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string][]byte{}
	for len(got) < len(recs) && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got[string(r.Key)] = r.Value })
	}
	for _, r := range recs {
		if !bytes.Equal(got[string(r.Key)], r.Value) {
			t.Errorf("key %s: read %q, wrote %q", r.Key, got[string(r.Key)], r.Value)
		}
	}
}

type kcatRecord struct {
	key, headers string
	value        []byte
}

// parseKcat reads check.sh's record blocks; LEN gives the exact value
// length, so values may contain \r, \n and any byte.
func parseKcat(t *testing.T, out []byte) []kcatRecord {
	t.Helper()
	var recs []kcatRecord
	for {
		i := bytes.Index(out, []byte("KEY="))
		if i < 0 {
			return recs
		}
		out = out[i:]
		var r kcatRecord
		line := func(prefix string) string {
			if !bytes.HasPrefix(out, []byte(prefix)) {
				t.Fatalf("kcat output: want %s at %q", prefix, out[:min(len(out), 60)])
			}
			end := bytes.IndexByte(out, '\n')
			s := string(out[len(prefix):end])
			out = out[end+1:]
			return s
		}
		r.key = line("KEY=")
		r.headers = line("HEADERS=")
		n, err := strconv.Atoi(line("LEN="))
		if err != nil || !bytes.HasPrefix(out, []byte("VALUE=")) || len(out) < len("VALUE=")+n {
			t.Fatalf("kcat output: bad length or value: %v", err)
		}
		r.value = out[len("VALUE=") : len("VALUE=")+n]
		out = out[len("VALUE=")+n:]
		if !bytes.HasPrefix(out, []byte("\n--END--\n")) {
			t.Fatalf("kcat output: value longer than LEN")
		}
		recs = append(recs, r)
	}
}

func TestKcatReadsTheEmbeddedBroker(t *testing.T) {
	script, err := filepath.Abs("../test/kcat/check.sh")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, script, "install").CombinedOutput(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 && os.Getenv("KCAT_REQUIRED") != "1" {
			t.Skipf("kcat cannot be installed here (set KCAT_REQUIRED=1 to make this a failure): %s", out)
		}
		t.Fatalf("installing kcat: %v\n%s", err, out)
	}
	b := start(t)
	p := newProducer(t, b)
	recs := hl7Records("hl7.adt.a01")
	if _, err := p.Publish(ctx, recs, false); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, script, b.Addrs()[0], "hl7.adt.a01", strconv.Itoa(len(recs)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check.sh: %v\n%s", err, stderr.String())
	}
	if !bytes.Contains(out, []byte(`topic "hl7.adt.a01" with 3 partitions`)) {
		t.Errorf("kcat -L does not list the topic with 3 partitions:\n%s", out)
	}
	got := map[string]kcatRecord{}
	for _, r := range parseKcat(t, out) {
		got[r.key] = r
	}
	if len(got) != len(recs) {
		t.Fatalf("kcat read %d records, want %d", len(got), len(recs))
	}
	for _, r := range recs {
		k := got[string(r.Key)]
		if !bytes.Equal(k.value, r.Value) {
			t.Errorf("key %s: kcat read %q, wrote %q", r.Key, k.value, r.Value)
		}
		want := "content-type=application/hl7-v2,hl7.control_id=" + string(r.Headers[1].Value)
		if k.headers != want {
			t.Errorf("key %s: headers %q, want %q", r.Key, k.headers, want)
		}
	}
}
