package topics

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hl7gw/gateway/config"
)

// StartupTimeout bounds the check a gateway runs at start.
const StartupTimeout = 15 * time.Second

// Startup is the check of a gateway's dead-letter topics at start: which
// topics, what they should look like, whether missing ones are created,
// and which problems are worth a warning. The gateway starts whatever it
// finds: a message that cannot be stored is answered AR, never lost.
type Startup struct {
	Specs []Spec
	// Create: missing topics are created (kafka.topics.create, or the
	// embedded broker).
	Create bool
	// SingleNode is the embedded broker: min.insync.replicas is not
	// checked and replication warnings say nothing new, so they are not
	// reported.
	SingleNode bool
}

// StartupFor is the startup check of cfg: every connector's dead-letter
// topics (DeadLetterTopics) with the configured partitions, replication
// factor and min.insync.replicas.
func StartupFor(cfg config.Config) (Startup, error) {
	names, err := DeadLetterTopics(cfg)
	if err != nil {
		return Startup{}, err
	}
	k := cfg.Kafka.Topics
	st := Startup{Create: k.Create || cfg.Embedded(), SingleNode: cfg.Embedded()}
	for _, n := range names {
		s := Spec{Name: n, Partitions: k.Partitions, ReplicationFactor: cfg.ReplicationFactor(), MinInsyncReplicas: k.MinInsyncReplicas}
		if st.SingleNode {
			s.MinInsyncReplicas = 0 // one node: nothing to check
		}
		st.Specs = append(st.Specs, s)
	}
	return st, nil
}

// DeadLetterTopics lists every connector's dead-letter topics (config
// applies the topic prefix), in connector order, without duplicates.
func DeadLetterTopics(cfg config.Config) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, c := range cfg.Connectors {
		s, err := c.Settings(cfg)
		if err != nil {
			return nil, fmt.Errorf("connector %s: %w", c.Name, err)
		}
		for _, t := range []string{s.HL7DLQTopic, s.FHIRDLQTopic} {
			if t != "" && !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// Finding is one problem of one topic worth reporting at start.
type Finding struct {
	Topic string
	Problem
}

// Run checks the topics through adm (creating missing ones when Create),
// within StartupTimeout, and returns the problems worth a warning. An
// error means the check itself failed (the broker did not answer).
func (s Startup) Run(ctx context.Context, adm *kadm.Client) ([]Finding, error) {
	ctx, cancel := context.WithTimeout(ctx, StartupTimeout)
	defer cancel()
	rep, err := Ensure(ctx, adm, s.Specs, s.Create)
	if err != nil {
		return nil, err
	}
	return s.Findings(rep), nil
}

// Findings are the problems of rep worth a warning: all of them, but on a
// single node no warnings.
func (s Startup) Findings(rep Report) []Finding {
	var out []Finding
	for _, t := range rep.Topics {
		for _, p := range t.Problems {
			if s.SingleNode && p.Level == LevelWarning {
				continue
			}
			out = append(out, Finding{Topic: t.Spec.Name, Problem: p})
		}
	}
	return out
}
