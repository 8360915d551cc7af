package fhirload

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/ingest/api"
	"github.com/hl7gw/gateway/ingest/fhirdoor"
	testcorpus "github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
)

type resource struct {
	typ  string
	body []byte
}

// loadFiles are the official R4 examples of the FHIR corpus the benchmark
// posts, one request per file in turn.
var loadFiles = []string{
	"r4ex-AllergyIntolerance-example.json",
	"r4ex-Condition-example.json",
	"r4ex-Encounter-example.json",
	"r4ex-Observation-10minute-apgar-score.json",
	"r4ex-Observation-example-genetics-1.json",
	"r4ex-Observation-example.json",
	"r4ex-Patient-example.json",
	"r4ex-Practitioner-example.json",
	"r4ex-Procedure-example-implant.json",
	"r4ex-Procedure-example.json",
}

// corpus loads loadFiles from the FHIR corpus (internal/corpus).
func corpus(tb testing.TB) []resource {
	tb.Helper()
	var out []resource
	for _, name := range loadFiles {
		b := testcorpus.Read(tb, testcorpus.FHIR, "valid/"+name)
		typ := strings.SplitN(strings.TrimPrefix(name, "r4ex-"), "-", 2)[0]
		out = append(out, resource{typ: typ, body: b})
	}
	return out
}

// cluster starts the kfake broker of a benchmark until it ends, the same
// for the gateway and the relay, and returns its addresses.
func cluster(b *testing.B) []string {
	b.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c.ListenAddrs()
}

// server starts kfake, the FHIR pipeline with the gateway's own producer
// (publish.Producer with the default durable settings: acks=all,
// idempotent, snappy) and the REST door on a real HTTP server. It returns the
// server's host:port.
func server(b *testing.B) string {
	b.Helper()
	brokers := cluster(b)
	prod, err := publish.New(context.Background(), config.Default().Kafka, brokers, nil, nil, kgo.AllowAutoTopicCreation())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(prod.Close)
	p := pipeline.New(pipeline.Config{
		Connector: "fhir-rest", ValidationEnabled: true, DLQTopic: "fhir.dlq", ContentType: "application/fhir+json",
	}, fhirdoor.NewSteps(fhirdoor.StepsConfig{Connector: "fhir-rest", ValidationEnabled: true, Strict: true}), prod, nil)
	h, err := api.NewHTTPHandler(context.Background(), api.NewService(nil, p, api.ServiceOptions{}), api.HTTPOptions{})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(h)
	b.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}

// client is one keep-alive HTTP/1.1 connection that writes prepared
// requests and reads each answer in the calling goroutine. The load
// generator shares the two cores with the server, so it is kept lean:
// net/http's Transport would add two goroutine hand-offs and about 5% of
// the CPU to every request.
type client struct {
	c  net.Conn
	br *bufio.Reader
}

func dial(addr string) (*client, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &client{c: c, br: bufio.NewReader(c)}, nil
}

// post sends one prepared request and fails unless the answer is 201.
func (cl *client) post(req []byte) error {
	if _, err := cl.c.Write(req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(cl.br, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%d %.300s", resp.StatusCode, body)
	}
	return nil
}

// requests prepares one POST per resource (Prefer: return=minimal).
func requests(addr string, res []resource) [][]byte {
	out := make([][]byte, len(res))
	for i, r := range res {
		out[i] = fmt.Appendf(nil, "POST /fhir/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/fhir+json\r\n"+
			"Prefer: return=minimal\r\nContent-Length: %d\r\n\r\n%s", r.typ, addr, len(r.body), r.body)
	}
	return out
}

// BenchmarkFHIRPost posts corpus resources to the gateway's REST handler
// (see postLoad).
func BenchmarkFHIRPost(b *testing.B) {
	res := corpus(b)
	postLoad(b, server(b), res)
}

// BenchmarkFHIRRelay is a FHIR door reduced to google/fhir's check: the
// same clients, HTTP and broker as BenchmarkFHIRPost, and a handler that
// reads the body, unmarshals it with google/fhir/go's
// validating R4 unmarshaller (as the plain baseline does), produces it as
// it came with the gateway's producer settings and answers 201 once the
// broker has it, or 400. Relay/unmarshal is what HTTP and Kafka cost.
func BenchmarkFHIRRelay(b *testing.B) {
	res := corpus(b)
	postLoad(b, relay(b), res)
}

// relay starts the relay's HTTP server on a kfake broker and returns its
// address.
func relay(b *testing.B) string {
	b.Helper()
	brokers := cluster(b)
	opts, err := publish.Options(config.Default().Kafka, brokers)
	if err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.AllowAutoTopicCreation())...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	um, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		typ := strings.TrimPrefix(r.URL.Path, "/fhir/")
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if _, err := um.Unmarshal(body); err != nil {
			http.Error(w, "invalid resource", http.StatusBadRequest)
			return
		}
		rec := &kgo.Record{Topic: "fhir." + strings.ToLower(typ) + ".created", Value: body}
		if err := cl.ProduceSync(r.Context(), rec).FirstErr(); err != nil {
			http.Error(w, "not stored", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	b.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}

// postLoad posts the resources to addr from 8 and 64 concurrent clients
// (keep-alive connections), one sub-benchmark each, and reports
// resources/s and cpu-ns/op. Every answer must be 201: a rejected resource
// fails the benchmark.
func postLoad(b *testing.B, addr string, res []resource) {
	reqs := requests(addr, res)
	for _, clients := range []int{8, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			conns := make([]*client, clients)
			for i := range conns {
				cl, err := dial(addr)
				if err != nil {
					b.Fatal(err)
				}
				defer cl.c.Close()
				conns[i] = cl
			}
			for i, req := range reqs { // warm up, and check every resource is accepted
				if err := conns[0].post(req); err != nil {
					b.Fatalf("POST %s: %v", res[i].typ, err)
				}
			}
			var next atomic.Int64
			var failed atomic.Pointer[error]
			var wg sync.WaitGroup
			b.ResetTimer()
			start, cpu0 := time.Now(), processCPU()
			for _, cl := range conns {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) || failed.Load() != nil {
							return
						}
						if err := cl.post(reqs[i%int64(len(reqs))]); err != nil {
							err = fmt.Errorf("POST %s: %w", res[i%int64(len(res))].typ, err)
							failed.CompareAndSwap(nil, &err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if errp := failed.Load(); errp != nil {
				b.Fatal(*errp)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "resources/s")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the process's CPU time so far (user and system), in ns:
// the load generator, the gateway and kfake all run in this process, so
// cpu-ns/op is the whole cost of one POST, steadier than resources/s on a
// machine shared with other work.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
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
