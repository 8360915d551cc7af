package topics

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TopicReport is the result for one topic.
type TopicReport struct {
	Spec     Spec      `json:"spec"`
	Observed Observed  `json:"observed"`
	Created  bool      `json:"created,omitempty"`
	Problems []Problem `json:"problems,omitempty"`
}

// Report lists every topic checked, in the order of the specs.
type Report struct {
	Topics []TopicReport `json:"topics"`
}

// HasErrors reports whether any topic has an error-level problem (the
// gateway cannot write it as configured).
func (r Report) HasErrors() bool { return r.count(LevelError) > 0 }

// Warnings counts warning-level problems.
func (r Report) Warnings() int { return r.count(LevelWarning) }

func (r Report) count(l Level) int {
	n := 0
	for _, t := range r.Topics {
		for _, p := range t.Problems {
			if p.Level == l {
				n++
			}
		}
	}
	return n
}

// String renders one line per problem ("topic: level code: detail (fix:
// hint)"), or "topics ok".
func (r Report) String() string {
	var b strings.Builder
	for _, t := range r.Topics {
		if t.Created {
			fmt.Fprintf(&b, "%s: created\n", t.Spec.Name)
		}
		for _, p := range t.Problems {
			fmt.Fprintf(&b, "%s: %s\n", t.Spec.Name, p)
		}
	}
	if b.Len() == 0 {
		return "topics ok"
	}
	return strings.TrimRight(b.String(), "\n")
}

// Ensure describes each topic of specs and, when create is true, creates the
// missing ones with the spec's partitions, replication factor and
// min.insync.replicas; then it checks every topic with Check.
//
// It blocks on admin requests until they finish or ctx ends. It returns an
// error only when the cluster could not be asked at all (no broker reachable,
// ctx done); per-topic failures (unauthorized, creation refused) are
// error-level problems in the Report. Safe for concurrent use.
func Ensure(ctx context.Context, adm *kadm.Client, specs []Spec, create bool) (Report, error) {
	rep := Report{Topics: make([]TopicReport, len(specs))}
	if len(specs) == 0 {
		return rep, nil
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
		rep.Topics[i].Spec = s
	}
	details, authErrs, err := describe(ctx, adm, names)
	if err != nil {
		return rep, err
	}
	var existing []string
	for i := range rep.Topics {
		tr := &rep.Topics[i]
		name := tr.Spec.Name
		if ae, ok := authErrs[name]; ok {
			tr.Problems = append(tr.Problems, unauthorized(name, "describe", ae))
			continue
		}
		td, found := details[name]
		switch {
		case found && td.Err == nil:
			tr.Observed = Observed{Exists: true, Partitions: len(td.Partitions), ReplicationFactor: minReplicas(td.Partitions)}
			existing = append(existing, name)
		case found && !errors.Is(td.Err, kerr.UnknownTopicOrPartition):
			tr.Problems = append(tr.Problems, Problem{LevelError, CodeDescribeFailed,
				fmt.Sprintf("describe topic %s: %v", name, td.Err), "check the broker logs"})
		case create:
			if err := createTopic(ctx, adm, tr); err != nil {
				return rep, err
			}
			if tr.Observed.Exists {
				existing = append(existing, name)
			}
		default:
			tr.Problems = Check(tr.Spec, Observed{})
		}
	}
	if err := readMinInsync(ctx, adm, existing, &rep); err != nil {
		return rep, err
	}
	for i := range rep.Topics {
		tr := &rep.Topics[i]
		if tr.Observed.Exists {
			tr.Problems = append(tr.Problems, Check(tr.Spec, tr.Observed)...)
		}
	}
	return rep, nil
}

// describe lists the topics. kadm fails a whole metadata request when one
// topic is unauthorized; then each topic is asked on its own so that the
// others are still checked.
func describe(ctx context.Context, adm *kadm.Client, names []string) (kadm.TopicDetails, map[string]error, error) {
	ctx = fresh(ctx)
	details, err := adm.ListTopics(ctx, names...)
	if err == nil {
		return details, nil, nil
	}
	var ae *kadm.AuthError
	if !errors.As(err, &ae) {
		return nil, nil, fmt.Errorf("describe topics: %w", err)
	}
	details = kadm.TopicDetails{}
	authErrs := map[string]error{}
	for _, n := range names {
		d, err := adm.ListTopics(ctx, n)
		switch {
		case errors.As(err, &ae):
			authErrs[n] = err
		case err != nil:
			return nil, nil, fmt.Errorf("describe topic %s: %w", n, err)
		default:
			for k, v := range d {
				details[k] = v
			}
		}
	}
	return details, authErrs, nil
}

// createTopic creates tr's topic and fills tr.Observed from the answer. A
// topic created meanwhile by someone else counts as existing.
func createTopic(ctx context.Context, adm *kadm.Client, tr *TopicReport) error {
	s := tr.Spec
	parts, rf := int32(-1), int16(-1)
	if s.Partitions > 0 {
		parts = int32(s.Partitions)
	}
	if s.ReplicationFactor > 0 {
		rf = int16(s.ReplicationFactor)
	}
	cfg := map[string]*string{}
	if s.MinInsyncReplicas > 0 {
		v := strconv.Itoa(s.MinInsyncReplicas)
		cfg["min.insync.replicas"] = &v
	}
	if s.Compact {
		v := "compact"
		if s.Retention > 0 {
			v += ",delete"
			ms := strconv.FormatInt(s.Retention.Milliseconds(), 10)
			cfg["retention.ms"] = &ms
		}
		cfg["cleanup.policy"] = &v
	}
	resp, err := adm.CreateTopic(ctx, parts, rf, cfg, s.Name)
	if err == nil {
		err = resp.Err
	}
	var ae *kadm.AuthError
	switch {
	case err == nil:
		tr.Created = true
		tr.Observed = Observed{Exists: true, Partitions: int(resp.NumPartitions), ReplicationFactor: int(resp.ReplicationFactor)}
		// The answer carries the topic's configuration: a DescribeConfigs
		// sent now may reach a broker that does not know the topic yet.
		if c, ok := resp.Configs["min.insync.replicas"]; ok {
			tr.Observed.MinInsyncReplicas, _ = strconv.Atoi(c.MaybeValue())
		}
		if c, ok := resp.Configs["cleanup.policy"]; ok {
			tr.Observed.CleanupPolicy = c.MaybeValue()
		}
		if tr.Observed.Partitions <= 0 || tr.Observed.ReplicationFactor <= 0 {
			return refresh(ctx, adm, tr)
		}
		return nil
	case errors.Is(err, kerr.TopicAlreadyExists):
		return refresh(ctx, adm, tr)
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed), errors.As(err, &ae):
		tr.Problems = append(tr.Problems, unauthorized(s.Name, "create", err))
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("create topic %s: %w", s.Name, err)
	default:
		msg := fmt.Sprintf("create topic %s: %v", s.Name, err)
		if resp.ErrMessage != "" {
			msg += ": " + resp.ErrMessage
		}
		tr.Problems = append(tr.Problems, Problem{LevelError, CodeCreateFailed, msg,
			"check that the cluster has at least replication_factor brokers, or create the topic by hand: " + createHint(s)})
		return nil
	}
}

// refresh re-reads tr's partitions and replication factor.
func refresh(ctx context.Context, adm *kadm.Client, tr *TopicReport) error {
	d, err := adm.ListTopics(fresh(ctx), tr.Spec.Name)
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", tr.Spec.Name, err)
	}
	td, ok := d[tr.Spec.Name]
	if !ok || td.Err != nil {
		tr.Problems = append(tr.Problems, Problem{LevelError, CodeDescribeFailed,
			fmt.Sprintf("topic %s not described after creation: %v", tr.Spec.Name, td.Err), "retry; check the broker logs"})
		return nil
	}
	tr.Observed = Observed{Exists: true, Partitions: len(td.Partitions), ReplicationFactor: minReplicas(td.Partitions)}
	return nil
}

// readMinInsync fills the effective min.insync.replicas and cleanup.policy
// of existing topics; a topic whose configuration cannot be read keeps 0
// and "" (Check warns about the first).
func readMinInsync(ctx context.Context, adm *kadm.Client, names []string, rep *Report) error {
	if len(names) == 0 {
		return nil
	}
	rcs, err := describeConfigs(ctx, adm, names)
	if err != nil {
		return err
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			continue
		}
		for _, c := range rc.Configs {
			for i := range rep.Topics {
				o := &rep.Topics[i].Observed
				if rep.Topics[i].Spec.Name != rc.Name {
					continue
				}
				switch c.Key {
				case "min.insync.replicas":
					if n, _ := strconv.Atoi(c.MaybeValue()); n > 0 {
						o.MinInsyncReplicas = n
					}
				case "cleanup.policy":
					if v := c.MaybeValue(); v != "" {
						o.CleanupPolicy = v
					}
				}
			}
		}
	}
	return nil
}

// describeConfigs reads the topics' configurations, asking again (up to
// five times, 200 ms apart, within ctx) for the topics a broker answered
// with a retriable error: right after a topic is created, the broker asked
// may not know it yet (UNKNOWN_TOPIC_OR_PARTITION). Other errors, such as
// a missing DESCRIBE_CONFIGS grant, are left in the topic's result.
func describeConfigs(ctx context.Context, adm *kadm.Client, names []string) (kadm.ResourceConfigs, error) {
	var out kadm.ResourceConfigs
	for attempt := 0; ; attempt++ {
		rcs, err := adm.DescribeTopicConfigs(ctx, names...)
		var se *kadm.ShardErrors
		if err != nil && !errors.As(err, &se) {
			return nil, fmt.Errorf("describe topic configs: %w", err)
		}
		var again []string
		for _, rc := range rcs {
			if rc.Err != nil && kerr.IsRetriable(rc.Err) && attempt < 4 {
				again = append(again, rc.Name)
				continue
			}
			out = append(out, rc)
		}
		if err != nil && attempt < 4 {
			again = missing(names, rcs, again)
		}
		if len(again) == 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(200 * time.Millisecond):
		}
		names = again
	}
}

// missing adds to again the names rcs holds no result for (a broker that
// did not answer at all).
func missing(names []string, rcs kadm.ResourceConfigs, again []string) []string {
	seen := map[string]bool{}
	for _, rc := range rcs {
		seen[rc.Name] = true
	}
	for _, n := range names {
		if !seen[n] {
			again = append(again, n)
		}
	}
	return again
}

// fresh makes kadm ask a broker instead of answering from the client's
// metadata cache, which may still say "missing" for a topic just created.
func fresh(ctx context.Context) context.Context { return kadm.WithAuthorizedOps(ctx) }

// minReplicas is the smallest replica count over the partitions: the weakest
// partition decides what acks=all can promise.
func minReplicas(ps kadm.PartitionDetails) int {
	n := 0
	for _, p := range ps {
		if n == 0 || len(p.Replicas) < n {
			n = len(p.Replicas)
		}
	}
	return n
}

func unauthorized(topic, op string, err error) Problem {
	return Problem{LevelError, CodeUnauthorized,
		fmt.Sprintf("not authorized to %s topic %s: %v", op, topic, err),
		fmt.Sprintf("grant %s on topic %s to the gateway's principal (kafka-acls.sh --add --operation %s --topic %s)",
			strings.ToUpper(op), topic, opName(op), topic)}
}

func opName(op string) string {
	return strings.ToUpper(op[:1]) + op[1:]
}
