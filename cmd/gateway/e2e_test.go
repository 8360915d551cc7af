package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/internal/logbuf"
	"github.com/hl7gw/gateway/internal/sendonce"
	"github.com/hl7gw/gateway/internal/testwait"
	"github.com/hl7gw/gateway/internal/topicread"
)

// testConfig is the default configuration with every listener on a free
// loopback port.
func testConfig(brokers ...string) config.Config {
	cfg := config.Default()
	cfg.MLLPAddr, cfg.HTTPAddr, cfg.GRPCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.EmbeddedKafkaAddr = "127.0.0.1:0"
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.Producer.DeliveryTimeout = 3 * time.Second
	cfg.Kafka.Producer.RequestTimeout = 2 * time.Second
	cfg.ShutdownTimeout = 10 * time.Second
	return cfg
}

// startGateway runs a gateway in this process, as `gateway serve` does,
// and returns it with its log output.
func startGateway(t *testing.T, cfg config.Config) (*gateway, *logbuf.Buffer) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	g, err := start(context.Background(), cfg, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = g.shutdown(ctx)
	})
	return g, logs
}

func (g *gateway) mllpAddr() string { return g.mllp[0].ln.Addr().String() }

func (g *gateway) brokerAddrs() []string {
	if g.broker != nil {
		return g.broker.Addrs()
	}
	return g.cfg.Kafka.Brokers
}

// adtA01File is the ADT^A01 (v2.5.1) these tests send: valid, with a
// patient name they check is never logged.
const adtA01File = "valid/fhirconv-ADT01-28.hl7"

// adtA01 returns adtA01File from the HL7 corpus.
func adtA01(t *testing.T) []byte {
	t.Helper()
	return corpus.Read(t, corpus.HL7, adtA01File)
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func TestAValidADTIsAcceptedOnlyOnceItIsInKafkaByteForByte(t *testing.T) {
	g, _ := startGateway(t, testConfig())
	msg := adtA01(t)
	ack := sendonce.ACK(t, g.mllpAddr(), msg)
	if ack.Code != "AA" || ack.ControlID != "MSG00001" {
		t.Fatalf("ack = %+v, want AA for MSG00001", ack)
	}
	recs := topicread.N(t, g.brokerAddrs(), 1, "hl7.adt.a01")
	r := recs[0]
	if !bytes.Equal(r.Value, msg) {
		t.Fatalf("value differs from what was sent:\n got %q\nwant %q", r.Value, msg)
	}
	if string(r.Key) != "PATID1234^^^ADT1" {
		t.Fatalf("key = %q, want the first PID-3 repetition ID^^^authority", r.Key)
	}
	want := map[string]string{
		"ce_specversion": "1.0", "ce_type": "hl7.adt.a01", "content-type": "application/hl7-v2",
		"hl7.message_type": "ADT", "hl7.trigger_event": "A01", "hl7.version": "2.5.1", "hl7.control_id": "MSG00001",
		"hl7.sending_application": "ADT1", "hl7.sending_facility": "GOOD HEALTH HOSPITAL",
	}
	for k, v := range want {
		if got := header(r, k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"ce_id", "ce_source", "ce_time", "hl7.charset"} {
		if header(r, k) == "" {
			t.Errorf("header %s missing", k)
		}
	}
}

func TestGarbageIsAnsweredAEAndKeptInTheDeadLetterTopic(t *testing.T) {
	g, logs := startGateway(t, testConfig())
	garbage := []byte("this is not HL7 at all: SECRETPATIENTNAME \x00\xff")
	ack := sendonce.ACK(t, g.mllpAddr(), garbage)
	if ack.Code != "AE" {
		t.Fatalf("ack = %+v, want AE", ack)
	}
	recs := topicread.N(t, g.brokerAddrs(), 1, "hl7.dlq")
	r := recs[0]
	if !bytes.Equal(r.Value, garbage) {
		t.Fatalf("dlq value = %q, want the bytes sent", r.Value)
	}
	for k, v := range map[string]string{"__connect.errors.stage": "PARSE", "__connect.errors.connector.name": "hl7-mllp"} {
		if got := header(r, k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"__connect.errors.class.name", "__connect.errors.exception.message", "__connect.errors.location"} {
		if header(r, k) == "" {
			t.Errorf("header %s missing", k)
		}
	}
	if strings.Contains(logs.String(), "SECRETPATIENTNAME") {
		t.Fatal("the message body reached the logs")
	}
}

func TestARefusedMessageNeverReachesTheLogs(t *testing.T) {
	cfg := testConfig()
	cfg.Connectors = []config.Connector{{Name: "strict", Type: config.TypeHL7MLLP, Config: map[string]string{
		"hl7.parser.strict": "true", "errors.tolerance": "none"}}}
	g, logs := startGateway(t, cfg)
	msg := bytes.ReplaceAll(adtA01(t), []byte("EVERYMAN^ADAM"), []byte("ZZSECRETNAME^ADAM"))
	// A segment no HL7 version defines (and not a Z-segment): strict refuses it.
	msg = append(msg, []byte("QQQ|SECRETDOB|2222 HOME STREET\r")...)
	ack := sendonce.ACK(t, g.mllpAddr(), msg)
	if ack.Code != "AE" {
		t.Fatalf("ack = %+v, want AE", ack)
	}
	out := logs.String()
	if !strings.Contains(out, "MSG00001") {
		t.Fatalf("the refusal was not logged with its control id:\n%s", out)
	}
	for _, secret := range []string{"ZZSECRETNAME", "SECRETDOB", "EVERYMAN", "2222 HOME STREET"} {
		if strings.Contains(out, secret) {
			t.Fatalf("patient data %q reached the logs:\n%s", secret, out)
		}
	}
}

func TestWithTheBrokerStoppedNothingIsAnsweredAAThatIsNotInKafka(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "hl7.adt.a01", "hl7.dlq", "fhir.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := startGateway(t, testConfig(cluster.ListenAddrs()...))
	base := adtA01(t)
	msg := func(i int) []byte {
		return bytes.Replace(base, []byte("|MSG00001|"), []byte(fmt.Sprintf("|CTL%05d|", i)), 1)
	}
	var acked []string
	for i := 0; i < 20; i++ {
		if a := sendonce.ACK(t, g.mllpAddr(), msg(i)); a.Code == "AA" {
			acked = append(acked, a.ControlID)
		}
	}
	if len(acked) != 20 {
		t.Fatalf("only %d of 20 answered AA with the broker up", len(acked))
	}
	inKafka := map[string]bool{}
	for _, r := range topicread.N(t, cluster.ListenAddrs(), len(acked), "hl7.adt.a01") {
		inKafka[header(r, "hl7.control_id")] = true
	}
	for _, id := range acked {
		if !inKafka[id] {
			t.Fatalf("%s was answered AA but is not in Kafka", id)
		}
	}
	cluster.Close()
	for i := 20; i < 23; i++ {
		start := time.Now()
		a := sendonce.ACK(t, g.mllpAddr(), msg(i))
		if a.Code != "AR" {
			t.Fatalf("with the broker down the answer was %+v, want AR", a)
		}
		if took := time.Since(start); took > 15*time.Second {
			t.Fatalf("AR took %v, longer than the delivery timeout allows", took)
		}
	}
}

func TestShutdownAnswersWhatIsInFlightAndStopsListening(t *testing.T) {
	g, _ := startGateway(t, testConfig())
	addr := g.mllpAddr()
	msg := adtA01(t)
	if a := sendonce.ACK(t, addr, msg); a.Code != "AA" {
		t.Fatalf("ack = %+v", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("the MLLP port still accepts connections after shutdown")
	}
}

// A FHIR client that sends its next POST on a kept-alive connection just
// as shutdown begins gets its answer (and the record is in Kafka), not a
// closed connection: the fault suite caught the plain net/http shutdown
// cutting such a request off.
func TestAPOSTOnAKeptAliveConnectionAsShutdownBeginsIsAnswered(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "fhir.patient.created", "hl7.dlq", "fhir.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	g, _ := startGateway(t, testConfig(cluster.ListenAddrs()...))
	addr := g.http[0].ln.Addr().String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	post := func(id string) (*http.Response, error) {
		body := `{"resourceType":"Patient","id":"` + id + `","name":[{"family":"Doe"}]}`
		fmt.Fprintf(c, "POST /fhir/Patient HTTP/1.1\r\nHost: gw\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		resp, err := http.ReadResponse(r, nil)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	if resp, err := post("before"); err != nil || resp.StatusCode != http.StatusCreated || resp.Close {
		t.Fatalf("first POST: %v, %v; want 201 on a kept-alive connection", resp, err)
	}
	down := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		down <- g.shutdown(ctx)
	}()
	testwait.For(t, 10*time.Second, "the HTTP port refuses new connections", func() bool {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			nc.Close()
		}
		return err != nil
	})
	resp, err := post("during")
	if err != nil {
		t.Fatalf("POST on the kept-alive connection during shutdown: %v, want an answer", err)
	}
	if resp.StatusCode != http.StatusCreated || !resp.Close {
		t.Errorf("answered %d with Close=%v, want 201 and Connection: close", resp.StatusCode, resp.Close)
	}
	if err := <-down; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if got := len(topicread.ToEnd(t, cluster.ListenAddrs(), "fhir.patient.created")); got != 2 {
		t.Errorf("%d records in fhir.patient.created, want both Patients", got)
	}
}
