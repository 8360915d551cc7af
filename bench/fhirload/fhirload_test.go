package fhirload

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/ingest/api"
	"github.com/hl7gw/gateway/ingest/fhir"
	"github.com/hl7gw/gateway/pipeline"
)

type resource struct {
	typ  string
	body []byte
}

// corpus loads testdata/*.json (the official R4 examples copied there).
func corpus(tb testing.TB) []resource {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "r4ex-*.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no corpus: %v", err)
	}
	var out []resource
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		typ := strings.SplitN(strings.TrimPrefix(filepath.Base(p), "r4ex-"), "-", 2)[0]
		out = append(out, resource{typ: typ, body: b})
	}
	return out
}

// publisher is an acks=all kgo producer, standing in for the gateway's
// publish package with the same durable settings (idempotent, acks=all).
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

// server starts kfake, the FHIR pipeline and the REST door on a real
// HTTP server.
func server(b *testing.B) string {
	b.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(0))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	p := pipeline.New(pipeline.Config{
		Connector: "fhir-rest", ValidationEnabled: true, DLQTopic: "fhir.dlq", ContentType: "application/fhir+json",
	}, fhir.NewSteps(fhir.StepsConfig{Connector: "fhir-rest", ValidationEnabled: true, Strict: true}), publisher{cl}, nil)
	h, err := api.NewHTTPHandler(context.Background(), api.NewService(nil, p, api.ServiceOptions{}), api.HTTPOptions{})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(h)
	b.Cleanup(hs.Close)
	return hs.URL
}

func post(client *http.Client, url string, r resource) error {
	req, err := http.NewRequest(http.MethodPost, url+"/fhir/"+r.typ, bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Prefer", "return=minimal")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: %d %.300s", r.typ, resp.StatusCode, body)
	}
	return nil
}

// BenchmarkFHIRPost posts corpus resources with a fixed number of
// concurrent clients (keep-alive connections) and reports resources/s.
// Every answer must be 201: a rejected resource fails the benchmark.
func BenchmarkFHIRPost(b *testing.B) {
	res := corpus(b)
	url := server(b)
	for _, clients := range []int{8, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
			defer client.CloseIdleConnections()
			for _, r := range res { // warm up, and check every resource is accepted
				if err := post(client, url, r); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			var failed atomic.Pointer[error]
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) || failed.Load() != nil {
							return
						}
						if err := post(client, url, res[i%int64(len(res))]); err != nil {
							failed.CompareAndSwap(nil, &err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if errp := failed.Load(); errp != nil {
				b.Fatal(*errp)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "resources/s")
		})
	}
}

// BenchmarkPlainUnmarshal is the baseline: google/fhir/go's validating R4
// jsonformat unmarshal of the same resources, on all cores (RunParallel),
// reported in resources/s.
func BenchmarkPlainUnmarshal(b *testing.B) {
	res := corpus(b)
	um, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range res {
		if _, err := um.Unmarshal(r.body); err != nil {
			b.Fatalf("%s does not unmarshal: %v", r.typ, err)
		}
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if _, err := um.Unmarshal(res[i%int64(len(res))].body); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "resources/s")
}
