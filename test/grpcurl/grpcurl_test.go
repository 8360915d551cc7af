// Package grpcurl tests the gRPC door with grpcurl, a client written by
// others that knows the API only through server reflection.
package grpcurl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/ingest/api"
	"github.com/hl7gw/gateway/ingest/fhirdoor"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/pipeline"
)

// publisher is the smallest acks=all kgo publisher (no transactions: the
// script sends single resources).
type publisher struct{ cl *kgo.Client }

func (p publisher) Publish(ctx context.Context, recs []*kgo.Record, _ bool) ([]pipeline.Delivery, error) {
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	out := make([]pipeline.Delivery, len(recs))
	for i, r := range recs {
		out[i] = pipeline.Delivery{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	}
	return out, nil
}

func TestGrpcurlCallsSubmitFHIRAndHealthThroughReflection(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	p := pipeline.New(pipeline.Config{Connector: "grpc", ValidationEnabled: true, DLQTopic: "fhir.dlq", ContentType: "application/fhir+json"},
		fhirdoor.NewSteps(fhirdoor.StepsConfig{Connector: "grpc", ValidationEnabled: true, Strict: true}), publisher{cl}, nil)
	srv := api.NewGRPCServer(api.NewService(nil, p, api.ServiceOptions{}), func(ctx context.Context) error { return cl.Ping(ctx) })
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute) // the first run builds grpcurl
	defer cancel()
	patient := corpus.Path(corpus.FHIR, "valid/r4ex-Patient-example.json")
	cmd := exec.CommandContext(ctx, "bash", "grpcurl.sh", lis.Addr().String(), patient)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 && os.Getenv("GRPCURL_REQUIRED") == "" {
		t.Skipf("grpcurl could not be installed (set GRPCURL_REQUIRED=1 to fail instead): %s", stderr.String())
	}
	if err != nil {
		t.Fatalf("grpcurl.sh: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	sections := split(string(out))

	var submit struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Outcome      struct {
			Status     string `json:"status"`
			Deliveries []struct {
				Topic  string `json:"topic"`
				Offset string `json:"offset"`
			} `json:"deliveries"`
		} `json:"outcome"`
	}
	if err := json.Unmarshal([]byte(sections["SubmitFHIR"]), &submit); err != nil {
		t.Fatalf("SubmitFHIR answer is not JSON: %v\n%s", err, sections["SubmitFHIR"])
	}
	if submit.Outcome.Status != "OUTCOME_STATUS_ACCEPTED" || submit.ID != "example" ||
		len(submit.Outcome.Deliveries) != 1 || submit.Outcome.Deliveries[0].Topic != "fhir.patient.created" {
		t.Errorf("SubmitFHIR answer: %s", sections["SubmitFHIR"])
	}
	if !strings.Contains(sections["Health"], `"SERVING"`) {
		t.Errorf("Health answer: %s", sections["Health"])
	}
	for _, svc := range []string{"gateway.v1.GatewayService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !strings.Contains(sections["List"], svc) {
			t.Errorf("reflection does not list %s: %s", svc, sections["List"])
		}
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("fhir.patient.created"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer pcancel()
	want := corpus.Read(t, corpus.FHIR, "valid/r4ex-Patient-example.json")
	recs := cons.PollFetches(pctx).Records()
	if len(recs) != 1 || !sameExceptMeta(recs[0].Value, want) {
		t.Errorf("%d records; want the resource as sent, in its stored form (meta.versionId and meta.lastUpdated set)", len(recs))
	}
}

// sameExceptMeta reports whether the record value is the resource sent
// with meta.versionId set (the stored form of fhir.record.form's default).
func sameExceptMeta(stored, sent []byte) bool {
	var a, b map[string]any
	if json.Unmarshal(stored, &a) != nil || json.Unmarshal(sent, &b) != nil {
		return false
	}
	meta, _ := a["meta"].(map[string]any)
	if v, _ := meta["versionId"].(string); v == "" {
		return false
	}
	delete(a, "meta")
	delete(b, "meta")
	return reflect.DeepEqual(a, b)
}

// split cuts the script's output at its "== NAME" lines.
func split(out string) map[string]string {
	m := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(out, "\n") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "== "); ok {
			name = n
			continue
		}
		m[name] += line
	}
	return m
}
