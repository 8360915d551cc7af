// Package doctor diagnoses the gateway's Kafka connection step by step, as an
// operator would by hand: DNS resolution and TCP connection of each seed
// broker, TLS handshake (version, certificate expiry and chain), SASL
// authentication, cluster metadata (brokers, controller, advertised
// addresses), then each configured topic (exists, partitions, replication
// factor, min.insync.replicas against the current ISR, under-replicated
// partitions) and the permission to produce to it.
//
// Each step ends with a verdict (ok, warn, fail, skip), a detail and, when
// not ok, a fix hint. Nothing is ever written to a topic: the permission
// step reads the operations the broker says the principal may perform on the
// topic (Metadata with IncludeTopicAuthorizedOperations).
package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/publish"
)

// Verdict is a step's outcome.
type Verdict string

const (
	OK   Verdict = "ok"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
	Skip Verdict = "skip"
)

// Step is one diagnostic step.
type Step struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	Detail  string  `json:"detail"`
	Hint    string  `json:"hint,omitempty"`
}

// Report is the ordered list of steps.
type Report struct {
	Steps []Step `json:"steps"`
}

// Failed reports whether any step failed (the command exits 1).
func (r Report) Failed() bool {
	for _, s := range r.Steps {
		if s.Verdict == Fail {
			return true
		}
	}
	return false
}

// Step returns the first step with the given name.
func (r Report) Step(name string) (Step, bool) {
	for _, s := range r.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return Step{}, false
}

// Table renders the report for a terminal: one row per step, the hint on
// the following line.
func (r Report) Table() string {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STEP\tVERDICT\tDETAIL")
	for _, s := range r.Steps {
		fmt.Fprintf(w, "%s\t%s\t%s\n", s.Name, strings.ToUpper(string(s.Verdict)), s.Detail)
		if s.Hint != "" && s.Verdict != OK {
			fmt.Fprintf(w, "\t\tfix: %s\n", s.Hint)
		}
	}
	w.Flush()
	return b.String()
}

// JSON renders the report as indented JSON.
func (r Report) JSON() []byte {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil { // plain strings only: cannot happen
		return []byte(`{"error":` + fmt.Sprintf("%q", err.Error()) + `}`)
	}
	return append(b, '\n')
}

// Options tune a run. The zero value is usable.
type Options struct {
	// StepTimeout bounds each network step; 0 means 10s.
	StepTimeout time.Duration
	// CertExpiryWarn warns when a broker certificate expires sooner; 0
	// means 30 days.
	CertExpiryWarn time.Duration
	// ClientOpts turns the configuration into franz-go options; nil means
	// publish.Options (the gateway's own).
	ClientOpts func(k config.Kafka, brokers []string, extra ...kgo.Opt) ([]kgo.Opt, error)
	// Now is the clock for certificate expiry; nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.StepTimeout <= 0 {
		o.StepTimeout = 10 * time.Second
	}
	if o.CertExpiryWarn <= 0 {
		o.CertExpiryWarn = 30 * 24 * time.Hour
	}
	if o.ClientOpts == nil {
		o.ClientOpts = publish.Options
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// run carries the state of one diagnosis.
type run struct {
	k      config.Kafka
	opts   Options
	report Report
}

func (r *run) add(s Step) { r.report.Steps = append(r.report.Steps, s) }

func (r *run) skip(name, why string) { r.add(Step{Name: name, Verdict: Skip, Detail: why}) }

// Run diagnoses the connection described by k and the given topics. It
// blocks until every step has finished: each network step is bounded by
// opts.StepTimeout, and all of them by ctx. A step that cannot run because
// an earlier one failed is reported as skip. Run never returns an error:
// every failure is a step of the Report. It logs nothing and never reveals
// the SASL password.
func Run(ctx context.Context, k config.Kafka, topics []string, opts Options) Report {
	r := &run{k: k, opts: opts.withDefaults()}
	if len(k.Brokers) == 0 {
		r.add(Step{Name: "config", Verdict: Fail, Detail: "no Kafka brokers configured (the gateway would use its embedded broker)",
			Hint: "set kafka.brokers in the config file, --kafka-brokers or GATEWAY_KAFKA_BROKERS"})
		return r.report
	}
	reachable := r.network(ctx)
	if len(reachable) == 0 {
		for _, n := range []string{"sasl", "metadata"} {
			r.skip(n, "no seed broker reachable")
		}
		for _, t := range topics {
			r.skip("topic "+t, "no seed broker reachable")
			r.skip("produce "+t, "no seed broker reachable")
		}
		return r.report
	}
	r.cluster(ctx, reachable, topics)
	return r.report
}
