package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/hl7gw/gateway/internal/sendonce"
)

// TestReadinessFollowsABrokerThatAnswersMetadataButTakesNoRecords: a
// broker that answers metadata but refuses every produce with
// NOT_ENOUGH_REPLICAS made /readyz say ready while every message was
// answered AR. Now the first AR turns /readyz and gRPC health to not
// ready, and the first stored message turns them back.
func TestReadinessFollowsABrokerThatAnswersMetadataButTakesNoRecords(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "hl7.adt.a01", "hl7.dlq", "fhir.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	var refuse atomic.Bool
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if !refuse.Load() {
			return nil, nil, false
		}
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, tp := range r.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic = tp.Topic
			for _, p := range tp.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.NotEnoughReplicas.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	cfg := testConfig(cluster.ListenAddrs()...)
	cfg.Kafka.Producer.DeliveryTimeout, cfg.Kafka.Producer.RequestTimeout = time.Second, time.Second
	g, _ := startGateway(t, cfg)
	msg := adtA01(t)
	if a := sendonce.ACK(t, g.mllpAddr(), msg); a.Code != "AA" {
		t.Fatalf("with the broker taking records: %+v, want AA", a)
	}
	requireReady(t, g, true)

	refuse.Store(true)
	if a := sendonce.ACK(t, g.mllpAddr(), msg); a.Code != "AR" {
		t.Fatalf("with every produce refused: %+v, want AR", a)
	}
	requireReady(t, g, false)

	refuse.Store(false)
	// The producer backs off after the refusals; a sender resends its AR.
	deadline := time.Now().Add(20 * time.Second)
	for a := sendonce.ACK(t, g.mllpAddr(), msg); a.Code != "AA"; a = sendonce.ACK(t, g.mllpAddr(), msg) {
		if time.Now().After(deadline) {
			t.Fatalf("with the broker taking records again: %+v, want AA within 20s", a)
		}
	}
	requireReady(t, g, true)
}

// requireReady checks /readyz and gRPC health against want.
func requireReady(t *testing.T, g *gateway, want bool) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + g.http[0].ln.Addr().String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.StatusCode == http.StatusOK; got != want {
		t.Fatalf("/readyz %d %q, want ready %v", resp.StatusCode, body, want)
	}
	if !want && !strings.Contains(string(body), "the last publish failed") {
		t.Errorf("/readyz does not say why: %q", body)
	}
	cc, err := grpc.NewClient(g.grpc[0].ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := h.GetStatus() == healthpb.HealthCheckResponse_SERVING; got != want {
		t.Fatalf("gRPC health %v, want serving %v", h.GetStatus(), want)
	}
}
