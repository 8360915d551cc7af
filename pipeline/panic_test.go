package pipeline_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/validation"
)

// panicAt is the HL7 door's steps with one of them panicking on the first
// message, as a bug in a format package set off by one message would.
type panicAt struct {
	pipeline.Steps[hl7door.Request, *hl7door.Parsed]
	stage pipeline.Stage
	value any
	done  *atomic.Bool
}

func (s panicAt) at(stage pipeline.Stage) {
	if s.stage == stage && !s.done.Swap(true) {
		panic(s.value)
	}
}

func (s panicAt) Parse(ctx context.Context, req hl7door.Request, raw []byte) (*hl7door.Parsed, error) {
	s.at(pipeline.StageParse)
	return s.Steps.Parse(ctx, req, raw)
}

func (s panicAt) Validate(ctx context.Context, req hl7door.Request, m *hl7door.Parsed) validation.Findings {
	s.at(pipeline.StageValidate)
	return s.Steps.Validate(ctx, req, m)
}

func (s panicAt) Route(ctx context.Context, req hl7door.Request, m *hl7door.Parsed, w validation.Findings) (pipeline.Routed, error) {
	s.at(pipeline.StageRoute)
	return s.Steps.Route(ctx, req, m, w)
}

// TestAStepThatPanicsFailsItsMessageNotTheProcess: a panic in parse,
// validate or route answers that message as failing content at that stage
// with one internal finding, writes it to the dead-letter topic (or
// refuses it with tolerance none), counts it and logs the stack without
// the message; the next message goes through.
func TestAStepThatPanicsFailsItsMessageNotTheProcess(t *testing.T) {
	tests := []struct {
		name      string
		stage     pipeline.Stage
		value     any
		tolerance pipeline.Tolerance
		status    pipeline.Status
		logged    string
	}{
		{"a parse step's index out of range is dead-lettered", pipeline.StageParse, indexPanic(nil), pipeline.ToleranceAll, pipeline.Invalid, "index out of range"},
		{"a validate step's panic with a text is dead-lettered, its text not logged", pipeline.StageValidate, "DOE^JOHN was here", pipeline.ToleranceAll, pipeline.Invalid, "panic=string"},
		{"a route step's panic is dead-lettered", pipeline.StageRoute, "boom", pipeline.ToleranceAll, pipeline.Invalid, "panic=string"},
		{"with tolerance none the message is refused", pipeline.StageValidate, "boom", pipeline.ToleranceNone, pipeline.Refused, "panic=string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prod, _ := newProducer(t)
			var logs bytes.Buffer
			cfg := baseConfig()
			cfg.Tolerance = tt.tolerance
			cfg.Log = slog.New(slog.NewTextHandler(&logs, nil))
			reg := prometheus.NewRegistry()
			door := hl7door.NewSteps(hl7door.StepsConfig{Connector: cfg.Connector})
			p := pipeline.New[hl7door.Request, *hl7door.Parsed](cfg, panicAt{door, tt.stage, tt.value, new(atomic.Bool)}, prod, pipeline.NewMetrics(reg))

			_, out := p.Submit(context.Background(), hl7door.Request{}, []byte(adt))
			if out.Status != tt.status || out.Stage != tt.stage {
				t.Fatalf("outcome = %s/%s (%v), want %s/%s", out.Status, out.Stage, out.Findings, tt.status, tt.stage)
			}
			if f, ok := out.Findings.FirstError(); !ok || f.Code != validation.CodeInternal {
				t.Fatalf("findings = %v, want an internal error", out.Findings)
			}
			if tt.status == pipeline.Invalid && (len(out.Deliveries) != 1 || out.Deliveries[0].Topic != "hl7.dlq") {
				t.Fatalf("deliveries = %v, want one in hl7.dlq", out.Deliveries)
			}
			if tt.status == pipeline.Refused && len(out.Deliveries) != 0 {
				t.Fatalf("deliveries = %v, want none", out.Deliveries)
			}
			if n := panicCount(t, reg, "t", string(tt.stage)); n != 1 {
				t.Fatalf("gateway_step_panics_total = %v, want 1", n)
			}
			log := logs.String()
			if !strings.Contains(log, "stage="+string(tt.stage)) || !strings.Contains(log, tt.logged) || !strings.Contains(log, "goroutine") {
				t.Fatalf("log lacks the stage, the panic or the stack:\n%s", log)
			}
			if strings.Contains(log, "DOE") {
				t.Fatalf("log carries message content:\n%s", log)
			}
			// The pipeline takes the next message, and its in-flight count
			// came back.
			if _, out := p.Submit(context.Background(), hl7door.Request{}, []byte(adt)); out.Status != pipeline.Accepted {
				t.Fatalf("next message: %+v", out)
			}
			if n := p.InFlight(); n != 0 {
				t.Fatalf("in flight after the panic: %d", n)
			}
		})
	}
}

func indexPanic(a []int) (v any) {
	defer func() { v = recover() }()
	return a[len(a)]
}

// panicCount reads gateway_step_panics_total{connector, stage} from reg.
func panicCount(t *testing.T, reg *prometheus.Registry, connector, stage string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gateway_step_panics_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["connector"] == connector && labels["stage"] == stage {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no gateway_step_panics_total{connector=%q,stage=%q}", connector, stage)
	return 0
}
