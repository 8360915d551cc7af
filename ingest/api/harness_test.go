package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hl7gw/gateway/ingest/fhirdoor"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/pipeline"
	gatewayv1 "github.com/hl7gw/gateway/proto/gateway/v1"
)

// testPublisher is a small kgo publisher for these tests (acks=all,
// idempotent; atomic batches in one transaction), standing in for the
// gateway's publish package so that the doors are tested against a real
// Kafka-protocol broker.
type testPublisher struct {
	cl   *kgo.Client
	tx   *kgo.Client
	txMu sync.Mutex
}

func newTestPublisher(t testing.TB, brokers []string) *testPublisher {
	t.Helper()
	common := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.AllowAutoTopicCreation(),
		kgo.RecordDeliveryTimeout(3 * time.Second),
		kgo.ProducerLinger(0),
		kgo.RetryTimeout(3 * time.Second),
	}
	cl, err := kgo.NewClient(common...)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := kgo.NewClient(append(common, kgo.TransactionalID(fmt.Sprintf("api-test-%d", time.Now().UnixNano())),
		kgo.TransactionTimeout(10*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(); tx.Close() })
	return &testPublisher{cl: cl, tx: tx}
}

func (p *testPublisher) Publish(ctx context.Context, recs []*kgo.Record, atomic bool) ([]pipeline.Delivery, error) {
	if !atomic {
		res := p.cl.ProduceSync(ctx, recs...)
		if err := res.FirstErr(); err != nil {
			return nil, fmt.Errorf("produce: %w", err)
		}
		return deliveries(recs), nil
	}
	p.txMu.Lock()
	defer p.txMu.Unlock()
	if err := p.tx.BeginTransaction(); err != nil {
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	if err := p.tx.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		abortCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.tx.AbortBufferedRecords(abortCtx)
		_ = p.tx.EndTransaction(abortCtx, kgo.TryAbort)
		return nil, fmt.Errorf("produce in transaction: %w", err)
	}
	if err := p.tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return deliveries(recs), nil
}

func deliveries(recs []*kgo.Record) []pipeline.Delivery {
	out := make([]pipeline.Delivery, len(recs))
	for i, r := range recs {
		out[i] = pipeline.Delivery{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	}
	return out
}

// env is a running gateway API: kfake broker, HL7 and FHIR pipelines, the
// REST door on a real HTTP server and the gRPC door on a real TCP port.
type env struct {
	cluster *kfake.Cluster
	brokers []string
	httpURL string
	grpc    gatewayv1.GatewayServiceClient
	conn    *grpc.ClientConn
	ready   atomic.Bool
	ids     atomic.Int64
}

type envOptions struct {
	maxBody    int64
	asReceived bool // fhir.record.form: as-received
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{cluster: c, brokers: c.ListenAddrs()}
	t.Cleanup(c.Close)
	e.ready.Store(true)
	pub := newTestPublisher(t, e.brokers)

	fhirPipe := pipeline.New(pipeline.Config{
		Connector: "fhir-rest", ValidationEnabled: true, Tolerance: pipeline.ToleranceAll,
		DLQTopic: "fhir.dlq", DLQContextHeaders: true, ContentType: "application/fhir+json",
	}, fhirdoor.NewSteps(fhirdoor.StepsConfig{
		Connector: "fhir-rest", ValidationEnabled: true, Strict: true, AsReceived: o.asReceived,
		NewID: func() string { return fmt.Sprintf("gen-%d", e.ids.Add(1)) },
	}), pub, nil)
	hl7Door := hl7door.NewDoor(pipeline.New(pipeline.Config{
		Connector: "grpc", ValidationEnabled: true, Tolerance: pipeline.ToleranceAll,
		DLQTopic: "hl7.dlq", DLQContextHeaders: true, ContentType: "application/hl7-v2",
	}, hl7door.NewSteps(hl7door.StepsConfig{Connector: "grpc"}), pub, nil), nil)

	svc := NewService(hl7Door, fhirPipe, ServiceOptions{MaxBodyBytes: o.maxBody, RetryAfter: 2 * time.Second})
	h, err := NewHTTPHandler(context.Background(), svc, HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	e.httpURL = hs.URL

	gs := NewGRPCServer(svc, func(context.Context) error {
		if !e.ready.Load() {
			return errors.New("broker not ready")
		}
		return nil
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	e.conn = conn
	e.grpc = gatewayv1.NewGatewayServiceClient(conn)
	return e
}

// readCorpus returns the valid corpus file name: an HL7 message for a
// .hl7 name, else a FHIR resource.
func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	if strings.HasSuffix(name, ".hl7") {
		return corpus.Read(t, corpus.HL7, "valid/"+name)
	}
	return corpus.Read(t, corpus.FHIR, "valid/"+name)
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// do sends an HTTP request to the REST door.
func (e *env) do(t *testing.T, method, path, contentType string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return doHTTP(t, e.httpURL, method, path, contentType, body, hdr...)
}
