package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/embedded"
	"github.com/hl7gw/gateway/internal/topicread"
	"github.com/hl7gw/gateway/publish"
)

func TestHeaderFieldsFindsTheTypeAndControlID(t *testing.T) {
	tests := []struct {
		name, msg, msh9, msh10 string
		ok                     bool
	}{
		{name: "a usual header", msg: "MSH|^~\\&|A|B|C|D|20240101||ADT^A01^ADT_A01|c1|P|2.5\rPID|1", msh9: "ADT^A01^ADT_A01", msh10: "c1", ok: true},
		{name: "a header ending at MSH-10", msg: "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|c2\rOBX|1", msh9: "ORU^R01", msh10: "c2", ok: true},
		{name: "a message of one segment ending at MSH-10", msg: "MSH#^~\\&#A#B#C#D#1##ACK#c3", msh9: "ACK", msh10: "c3", ok: true},
		{name: "a header without MSH-10", msg: "MSH|^~\\&|A|B|C|D|1||ADT^A01\rPID|1|||x|y|z|w|v|u|t", ok: false},
		{name: "not a header", msg: "PID|1|2|3|4|5|6|7|8|9|10|11", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msh9, msh10, ok := headerFields([]byte(tt.msg))
			if ok != tt.ok || string(msh9) != tt.msh9 || string(msh10) != tt.msh10 {
				t.Fatalf("headerFields = %q, %q, %v; want %q, %q, %v", msh9, msh10, ok, tt.msh9, tt.msh10, tt.ok)
			}
		})
	}
}

func TestTheRelayAnswersAAOnlyOnceTheBrokerHasTheRecord(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	brokers := startBroker(t, ctx)
	opts, err := publish.Options(config.Default().Kafka, brokers)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.AllowAutoTopicCreation())...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics := map[string]string{"ADT^A01": "hl7.adt.a01"}
	msg := []byte("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|ctl-7|P|2.5\rPID|1")
	if got, want := string(relayOne(ctx, cl, topics, msg)), "MSH|^~\\&|RELAY||||||ACK|ctl-7|P|2.5\rMSA|AA|ctl-7\r"; got != want {
		t.Fatalf("answer %q, want %q", got, want)
	}
	if got := string(relayOne(ctx, cl, topics, []byte("MSH|^~\\&|A|B|C|D|1||ORU^R01|ctl-8\r"))); got != "MSH|^~\\&|RELAY||||||ACK|ctl-8|P|2.5\rMSA|AR|ctl-8\r" {
		t.Fatalf("an unroutable message was answered %q", got)
	}
	recs := topicread.N(t, brokers, 1, "hl7.adt.a01")
	if len(recs) != 1 || string(recs[0].Value) != string(msg) || string(recs[0].Key) != "ctl-7" {
		t.Fatalf("the topic holds %d records, want the message byte for byte under key ctl-7", len(recs))
	}
}

func TestTheConvertingRelayCommitsTheGatewaysRecordsWithTheFrameAsItCame(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	brokers := startBroker(t, ctx)
	const glob, types = "../../testdata/corpus/hl7/valid/*.hl7", "ADT^A01"
	msgs, _, err := runMessages(glob, types)
	if err != nil {
		t.Fatal(err)
	}
	if err := createTopics(ctx, brokers[0], msgs, true); err != nil {
		t.Fatal(err)
	}
	cr, err := newConvRelay(ctx, brokers, glob, types)
	if err != nil {
		t.Fatal(err)
	}
	defer cr.close()
	// The load generator's rewrite: another control id, nothing else.
	_, msh10, _ := headerFields(msgs[0])
	at := cap(msgs[0]) - cap(msh10)
	frame := append(append(append([]byte{}, msgs[0][:at]...), "ctl-relay-1"...), msgs[0][at+len(msh10):]...)
	if _, id, _ := headerFields(frame); withoutControlID(frame, id) != string(msgs[0][:at])+string(msgs[0][at+len(msh10):]) {
		t.Fatal("withoutControlID does not cut MSH-10 out")
	}
	if got := string(cr.relay(ctx, frame)); got != "MSH|^~\\&|RELAY||||||ACK|ctl-relay-1|P|2.5\rMSA|AA|ctl-relay-1\r" {
		t.Fatalf("answer %q", got)
	}
	if got := string(cr.relay(ctx, []byte("MSH|^~\\&|A|B|C|D|1||ADT^A01|ctl-2|P|2.5\rPID|1\r"))); got != "MSH|^~\\&|RELAY||||||ACK|ctl-2|P|2.5\rMSA|AR|ctl-2\r" {
		t.Fatalf("an unknown payload was answered %q", got)
	}
	want := cr.routed[string(msgs[0][:at])+string(msgs[0][at+len(msh10):])]
	var topics []string
	for _, r := range want.Records {
		topics = append(topics, r.Topic)
	}
	if len(want.Records) < 2 {
		t.Fatalf("the payload converts to %d records, want the raw one and its resources", len(want.Records))
	}
	got := topicread.N(t, brokers, len(want.Records), topics...) // read_committed
	if len(got) != len(want.Records) {
		t.Fatalf("read %d committed records, want the message's %d (raw and resources)", len(got), len(want.Records))
	}
	raw := 0
	for _, r := range got {
		if bytes.Equal(r.Value, frame) {
			raw++
		}
	}
	if raw != 1 {
		t.Fatalf("%d records carry the frame as it came, want 1", raw)
	}
}

// startBroker starts an embedded broker on a free port until the test
// ends and returns its address.
func startBroker(t *testing.T, ctx context.Context) []string {
	t.Helper()
	b, err := embedded.Start(ctx, "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b.Addrs()
}
