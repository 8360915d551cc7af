// Package topics checks, and on request creates, the gateway's Kafka topics:
// existence, partition count, replication factor and min.insync.replicas.
//
// Check is the pure decision: given what a topic should be (Spec) and what the
// cluster reports (Observed), it returns the problems. Ensure asks a cluster
// through kadm and applies Check to every topic.
package topics

import (
	"fmt"
	"strings"
	"time"
)

// Spec is what a topic should look like. A zero count means "the broker's
// default" and is not checked.
type Spec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	MinInsyncReplicas int
	// Compact asks for cleanup.policy=compact: the topic holds state (the
	// latest record per key), which deletion by retention would lose.
	Compact bool
	// Retention, with Compact, also deletes records older than it
	// (cleanup.policy=compact,delete, retention.ms) when the topic is
	// created: state that expires anyway need not stay forever.
	Retention time.Duration
}

// Observed is what the cluster reports for a topic.
type Observed struct {
	Exists            bool
	Partitions        int
	ReplicationFactor int
	// MinInsyncReplicas is the effective min.insync.replicas (topic value
	// or broker default); 0 when it could not be read.
	MinInsyncReplicas int
	// CleanupPolicy is the effective cleanup.policy ("delete", "compact",
	// "compact,delete"); empty when it could not be read.
	CleanupPolicy string
}

// Level orders problems: an error means records cannot be written as
// configured; a warning means they can, but with less safety or capacity.
type Level string

const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
)

// Problem codes, stable for logs, metrics and tests.
const (
	CodeMissing           = "missing"
	CodeUnauthorized      = "unauthorized"
	CodeDescribeFailed    = "describe_failed"
	CodeCreateFailed      = "create_failed"
	CodePartitions        = "partitions"
	CodeReplicationFactor = "replication_factor"
	CodeMinInsync         = "min_insync_replicas"
	CodeMinInsyncUnknown  = "min_insync_replicas_unknown"
	CodeMinInsyncAboveRF  = "min_insync_replicas_above_rf"
	CodeNoFaultTolerance  = "no_fault_tolerance"
	CodeAcksAllUnsafe     = "acks_all_unprotected"
	CodeNotCompacted      = "not_compacted"
)

// Problem is one finding about one topic, with a hint for the operator.
type Problem struct {
	Level  Level  `json:"level"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Hint   string `json:"hint,omitempty"`
}

func (p Problem) String() string {
	s := string(p.Level) + " " + p.Code + ": " + p.Detail
	if p.Hint != "" {
		s += " (fix: " + p.Hint + ")"
	}
	return s
}

// DurableReplicationFactor and DurableMinInsync are the least settings with
// which an acks=all write survives the loss of one broker while the topic
// stays writable.
const (
	DurableReplicationFactor = 3
	DurableMinInsync         = 2
)

// Check compares a topic's spec with what the cluster reports. It is pure and
// safe for concurrent use.
func Check(s Spec, o Observed) []Problem {
	if !o.Exists {
		return []Problem{{
			Level:  LevelError,
			Code:   CodeMissing,
			Detail: fmt.Sprintf("topic %s does not exist", s.Name),
			Hint:   createHint(s),
		}}
	}
	var ps []Problem
	if s.Compact && o.CleanupPolicy != "" && !strings.Contains(o.CleanupPolicy, "compact") {
		ps = append(ps, Problem{LevelError, CodeNotCompacted,
			fmt.Sprintf("cleanup.policy %s: the state it holds is deleted after retention", o.CleanupPolicy),
			fmt.Sprintf("kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact", s.Name)})
	}
	if s.Partitions > 0 && o.Partitions < s.Partitions {
		ps = append(ps, Problem{LevelWarning, CodePartitions,
			fmt.Sprintf("%d partitions, configured %d", o.Partitions, s.Partitions),
			fmt.Sprintf("kafka-topics.sh --alter --topic %s --partitions %d (keys then map to other partitions)", s.Name, s.Partitions)})
	}
	if s.ReplicationFactor > 0 && o.ReplicationFactor < s.ReplicationFactor {
		ps = append(ps, Problem{LevelWarning, CodeReplicationFactor,
			fmt.Sprintf("replication factor %d, configured %d", o.ReplicationFactor, s.ReplicationFactor),
			"add replicas with kafka-reassign-partitions.sh"})
	}
	if o.MinInsyncReplicas == 0 {
		ps = append(ps, Problem{LevelWarning, CodeMinInsyncUnknown,
			"min.insync.replicas could not be read",
			"grant DESCRIBE_CONFIGS on the topic to the gateway's principal"})
		return append(ps, durability(s.Name, o.ReplicationFactor, 0)...)
	}
	if s.MinInsyncReplicas > 0 && o.MinInsyncReplicas < s.MinInsyncReplicas {
		ps = append(ps, Problem{LevelWarning, CodeMinInsync,
			fmt.Sprintf("min.insync.replicas %d, configured %d", o.MinInsyncReplicas, s.MinInsyncReplicas),
			configHint(s.Name, s.MinInsyncReplicas)})
	}
	switch {
	case o.MinInsyncReplicas > o.ReplicationFactor:
		ps = append(ps, Problem{LevelError, CodeMinInsyncAboveRF,
			fmt.Sprintf("min.insync.replicas %d is above the replication factor %d: every acks=all write fails with NOT_ENOUGH_REPLICAS",
				o.MinInsyncReplicas, o.ReplicationFactor),
			configHint(s.Name, max(1, o.ReplicationFactor-1))})
	case o.MinInsyncReplicas == o.ReplicationFactor && o.ReplicationFactor > 1:
		ps = append(ps, Problem{LevelWarning, CodeNoFaultTolerance,
			fmt.Sprintf("min.insync.replicas equals the replication factor (%d): one broker down stops writes", o.ReplicationFactor),
			configHint(s.Name, o.ReplicationFactor-1)})
	}
	return append(ps, durability(s.Name, o.ReplicationFactor, o.MinInsyncReplicas)...)
}

// durability warns when acks=all cannot protect acknowledged records: with
// fewer than 3 replicas or min.insync.replicas below 2, one broker failure
// can lose a record the sender was told is stored (minIsr 0 = unknown).
func durability(topic string, rf, minIsr int) []Problem {
	weak := rf < DurableReplicationFactor || (minIsr > 0 && minIsr < DurableMinInsync)
	if !weak {
		return nil
	}
	isr := "unknown"
	if minIsr > 0 {
		isr = fmt.Sprint(minIsr)
	}
	return []Problem{{LevelWarning, CodeAcksAllUnsafe,
		fmt.Sprintf("acks=all cannot protect data: replication factor %d, min.insync.replicas %s (need >= %d and >= %d)",
			rf, isr, DurableReplicationFactor, DurableMinInsync),
		fmt.Sprintf("use replication factor %d and %s", DurableReplicationFactor, configHint(topic, DurableMinInsync))}}
}

func createHint(s Spec) string {
	var b strings.Builder
	b.WriteString("kafka-topics.sh --create --topic " + s.Name)
	if s.Partitions > 0 {
		fmt.Fprintf(&b, " --partitions %d", s.Partitions)
	}
	if s.ReplicationFactor > 0 {
		fmt.Fprintf(&b, " --replication-factor %d", s.ReplicationFactor)
	}
	if s.MinInsyncReplicas > 0 {
		fmt.Fprintf(&b, " --config min.insync.replicas=%d", s.MinInsyncReplicas)
	}
	switch {
	case s.Compact && s.Retention > 0:
		fmt.Fprintf(&b, " --config cleanup.policy=compact,delete --config retention.ms=%d", s.Retention.Milliseconds())
	case s.Compact:
		b.WriteString(" --config cleanup.policy=compact")
	}
	b.WriteString(", or set kafka.topics.create: true")
	return b.String()
}

func configHint(topic string, minIsr int) string {
	return fmt.Sprintf("kafka-configs.sh --alter --entity-type topics --entity-name %s --add-config min.insync.replicas=%d", topic, minIsr)
}
