package pipeline_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/router"
	"github.com/hl7gw/gateway/validation"
)

const adt = "MSH|^~\\&|APP|FAC|RAPP|RFAC|20240101120000||ADT^A01^ADT_A01|C1|P|2.5.1\rPID|1||123^^^H||DOE^JOHN\r"

// newPipeline runs HL7 steps over a real producer and a kfake broker on
// loopback. blocking makes the steps wait on the returned channel.
func newPipeline(t *testing.T, cfg pipeline.Config, v hl7door.Validator, tune ...func(*config.Kafka)) (*pipeline.Pipeline[hl7door.Request, *hl7door.Parsed], *kfake.Cluster) {
	t.Helper()
	prod, cluster := newProducer(t, tune...)
	steps := hl7door.NewSteps(hl7door.StepsConfig{Connector: cfg.Connector, Validator: v})
	return pipeline.New(cfg, steps, prod, pipeline.NewMetrics(prometheus.NewRegistry())), cluster
}

// newProducer is a real producer to a kfake broker on loopback that has
// the topics hl7.adt.a01 and hl7.dlq.
func newProducer(t *testing.T, tune ...func(*config.Kafka)) (*publish.Producer, *kfake.Cluster) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "hl7.adt.a01", "hl7.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	k := config.Default().Kafka
	k.Producer.DeliveryTimeout = 2 * time.Second
	k.Producer.RequestTimeout = time.Second
	for _, f := range tune {
		f(&k)
	}
	prod, err := publish.New(context.Background(), k, cluster.ListenAddrs(), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return prod, cluster
}

func baseConfig() pipeline.Config {
	return pipeline.Config{Connector: "t", ValidationEnabled: true, DLQTopic: "hl7.dlq", DLQContextHeaders: true, ContentType: router.ContentTypeHL7}
}

// refuseAll is a validator that finds one error in every message.
type refuseAll struct{}

func (refuseAll) Validate(*hl7.Message) validation.Findings {
	return validation.Findings{{Severity: validation.SeverityError, Code: validation.CodeRequiredMissing, Location: "PID-3"}}
}
func (refuseAll) Charset(*hl7.Message) (string, validation.Findings) { return "UTF-8", nil }

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name      string
		cfg       func(*pipeline.Config)
		validator hl7door.Validator
		raw       string
		status    pipeline.Status
		stage     pipeline.Stage
		topic     string
	}{
		{"a valid message is accepted into its topic", nil, nil, adt, pipeline.Accepted, pipeline.StageNone, "hl7.adt.a01"},
		{"an unparseable message goes to the dead-letter topic", nil, nil, "garbage", pipeline.Invalid, pipeline.StageParse, "hl7.dlq"},
		{"a message failing validation goes to the dead-letter topic", nil, refuseAll{}, adt, pipeline.Invalid, pipeline.StageValidate, "hl7.dlq"},
		{"with validation off a message failing it is accepted", func(c *pipeline.Config) { c.ValidationEnabled = false }, refuseAll{}, adt, pipeline.Accepted, pipeline.StageNone, "hl7.adt.a01"},
		{"with tolerance none an invalid message is refused and written nowhere", func(c *pipeline.Config) { c.Tolerance = pipeline.ToleranceNone }, refuseAll{}, adt, pipeline.Refused, pipeline.StageValidate, ""},
		{"a message type that cannot make a topic fails in the route stage", nil, nil, "MSH|^~\\&|A|F|||20240101||AD T^A01|C2|P|2.5\r", pipeline.Invalid, pipeline.StageRoute, "hl7.dlq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			p, _ := newPipeline(t, cfg, tt.validator)
			_, out := p.Submit(context.Background(), hl7door.Request{}, []byte(tt.raw))
			if out.Status != tt.status || out.Stage != tt.stage {
				t.Fatalf("outcome = %s/%s (%v), want %s/%s", out.Status, out.Stage, out.Findings, tt.status, tt.stage)
			}
			if tt.topic == "" {
				if len(out.Deliveries) != 0 {
					t.Fatalf("deliveries = %v, want none", out.Deliveries)
				}
				return
			}
			if len(out.Deliveries) != 1 || out.Deliveries[0].Topic != tt.topic {
				t.Fatalf("deliveries = %v, want one in %s", out.Deliveries, tt.topic)
			}
		})
	}
}

func TestWhenTheDeadLetterTopicCannotBeWrittenTheAnswerIsUnavailable(t *testing.T) {
	p, cluster := newPipeline(t, baseConfig(), nil)
	cluster.Close()
	_, out := p.Submit(context.Background(), hl7door.Request{}, []byte("garbage"))
	if out.Status != pipeline.Unavailable || out.Reason == "" || out.Cause == nil {
		t.Fatalf("outcome = %+v, want unavailable with a reason", out)
	}
}

func TestAPausedConnectorAnswersUnavailableWithoutReading(t *testing.T) {
	p, _ := newPipeline(t, baseConfig(), nil)
	p.SetPaused(true)
	_, out := p.Submit(context.Background(), hl7door.Request{}, []byte(adt))
	if out.Status != pipeline.Unavailable || !errors.Is(out.Cause, pipeline.ErrPaused) || out.Reason != "paused" {
		t.Fatalf("outcome = %+v", out)
	}
	p.SetPaused(false)
	if _, out := p.Submit(context.Background(), hl7door.Request{}, []byte(adt)); out.Status != pipeline.Accepted {
		t.Fatalf("after resume: %+v", out)
	}
}

// gate is a validator that holds every message until released.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func (g gate) Validate(*hl7.Message) validation.Findings {
	g.entered <- struct{}{}
	<-g.release
	return nil
}
func (gate) Charset(*hl7.Message) (string, validation.Findings) { return "UTF-8", nil }

func TestPastTheInFlightBoundTheAnswerIsOverloaded(t *testing.T) {
	cfg := baseConfig()
	cfg.MaxInFlight = 2
	g := gate{entered: make(chan struct{}, 2), release: make(chan struct{})}
	p, _ := newPipeline(t, cfg, g)
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Go(func() {
			if _, out := p.Submit(context.Background(), hl7door.Request{}, []byte(adt)); out.Status != pipeline.Accepted {
				t.Errorf("held message: %+v", out)
			}
		})
	}
	<-g.entered
	<-g.entered
	_, out := p.Submit(context.Background(), hl7door.Request{}, []byte(adt))
	if out.Status != pipeline.Unavailable || !errors.Is(out.Cause, pipeline.ErrOverloaded) {
		t.Fatalf("third message: %+v, want overloaded", out)
	}
	close(g.release)
	wg.Wait()
	if p.InFlight() != 0 {
		t.Fatalf("in flight = %d after all answered", p.InFlight())
	}
}

func TestAMessageKafkaWillNeverTakeIsRefusedNotRetried(t *testing.T) {
	small := func(k *config.Kafka) { k.Producer.MaxBatchBytes = 2048 }
	big := adt + "NTE|1||" + strings.Repeat("x", 4096) + "\r"
	for _, tt := range []struct {
		name string
		raw  string
	}{
		{"a valid message too large for a record", big},
		{"an invalid message too large for the dead-letter topic", "garbage " + strings.Repeat("y", 4096)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newPipeline(t, baseConfig(), nil, small)
			_, out := p.Submit(context.Background(), hl7door.Request{}, []byte(tt.raw))
			if out.Status != pipeline.Refused || out.Reason != "record_too_large" || !errors.Is(out.Cause, pipeline.ErrRecordTooLarge) {
				t.Fatalf("outcome = %s %q (%v), want refused record_too_large", out.Status, out.Reason, out.Cause)
			}
			last := out.Findings[len(out.Findings)-1]
			if last.Severity != validation.SeverityError || last.Code != validation.CodeValueTooLong {
				t.Fatalf("findings = %v, want a 104 error last", out.Findings)
			}
		})
	}
}
