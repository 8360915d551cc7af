package doctor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/topics"
)

// cluster runs the SASL, metadata, topic and produce-permission steps over
// one franz-go client to the reachable seeds.
func (r *run) cluster(ctx context.Context, seeds []string, names []string) {
	skipRest := func(why string) {
		for _, t := range names {
			r.skip("topic "+t, why)
			r.skip("produce "+t, why)
		}
	}
	// Doctor never produces, but the client options need valid producer
	// settings: a configuration without them gets the defaults.
	k := r.k
	if k.Producer == (config.Producer{}) {
		k.Producer = config.Default().Kafka.Producer
	}
	opts, err := r.opts.ClientOpts(k, seeds,
		kgo.RetryTimeout(r.opts.StepTimeout), kgo.RequestRetries(2), kgo.DialTimeout(r.opts.StepTimeout))
	if err != nil {
		r.add(Step{Name: "client", Verdict: Fail, Detail: "client configuration: " + err.Error(),
			Hint: "fix the kafka block of the configuration (sasl, tls, producer)"})
		r.skip("metadata", "no client")
		skipRest("no client")
		return
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		r.add(Step{Name: "client", Verdict: Fail, Detail: "client configuration: " + err.Error(),
			Hint: "fix the kafka block of the configuration (sasl, tls, producer)"})
		r.skip("metadata", "no client")
		skipRest("no client")
		return
	}
	defer cl.Close()

	sctx, cancel := context.WithTimeout(ctx, r.opts.StepTimeout)
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	md, err := req.RequestWith(sctx, cl)
	cancel()
	if !r.saslStep(err) {
		r.skip("metadata", "not authenticated")
		skipRest("not authenticated")
		return
	}
	if err != nil {
		r.add(Step{Name: "metadata", Verdict: Fail, Detail: "no metadata: " + err.Error(),
			Hint: "if the listener needs SASL or TLS, configure kafka.sasl / kafka.tls; otherwise see the broker logs"})
		skipRest("no metadata")
		return
	}
	r.metadataStep(ctx, md)
	if len(names) > 0 {
		r.topicSteps(ctx, cl, names)
	}
}

// saslStep records the SASL step from the first request's error and reports
// whether later steps may run.
func (r *run) saslStep(err error) bool {
	mech := r.k.SASL.Mechanism
	if mech == "" && r.k.Preset != "" {
		mech = "PLAIN"
	}
	if mech == "" {
		r.skip("sasl", "no SASL configured")
		return true
	}
	if err != nil && isSASLError(err) {
		r.add(Step{Name: "sasl", Verdict: Fail,
			Detail: fmt.Sprintf("%s authentication as %q failed: %v", mech, r.k.SASL.Username, err),
			Hint:   saslHint(err)})
		return false
	}
	if err != nil {
		// The connection failed before or during authentication for
		// another reason; metadata reports it.
		r.add(Step{Name: "sasl", Verdict: Skip, Detail: "not reached: " + err.Error()})
		return true
	}
	r.add(Step{Name: "sasl", Verdict: OK, Detail: fmt.Sprintf("authenticated as %q with %s", r.k.SASL.Username, mech)})
	return true
}

func isSASLError(err error) bool {
	return errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.UnsupportedSaslMechanism) ||
		errors.Is(err, kerr.IllegalSaslState) || strings.Contains(strings.ToLower(err.Error()), "sasl")
}

func saslHint(err error) string {
	switch {
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return "the listener does not enable this mechanism: compare kafka.sasl.mechanism with the broker's sasl.enabled.mechanisms"
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return "wrong username or password (or, for SCRAM, no SCRAM credential for the user at this mechanism): check kafka.sasl.username and the password source (${VAR} or password_file)"
	}
	return "check kafka.sasl against the broker listener's SASL settings"
}

// metadataStep reports brokers and controller and checks that every
// advertised broker address is reachable from here.
func (r *run) metadataStep(ctx context.Context, md *kmsg.MetadataResponse) {
	ids := make([]string, 0, len(md.Brokers))
	var unreachable []string
	for _, b := range md.Brokers {
		ids = append(ids, strconv.Itoa(int(b.NodeID)))
		addr := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		d := net.Dialer{Timeout: r.opts.StepTimeout}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			unreachable = append(unreachable, fmt.Sprintf("broker %d at %s", b.NodeID, addr))
			continue
		}
		c.Close()
	}
	cluster := "?"
	if md.ClusterID != nil {
		cluster = *md.ClusterID
	}
	detail := fmt.Sprintf("cluster %s: %d brokers [%s], controller %d", cluster, len(md.Brokers), strings.Join(ids, " "), md.ControllerID)
	switch {
	case len(md.Brokers) == 0:
		r.add(Step{Name: "metadata", Verdict: Fail, Detail: detail, Hint: "the cluster reports no brokers: see the broker logs"})
	case len(unreachable) > 0:
		r.add(Step{Name: "metadata", Verdict: Fail, Detail: detail + "; unreachable: " + strings.Join(unreachable, ", "),
			Hint: "brokers advertise addresses this machine cannot reach: fix advertised.listeners on those brokers"})
	case len(md.Brokers) < topics.DurableReplicationFactor:
		r.add(Step{Name: "metadata", Verdict: Warn, Detail: detail,
			Hint: fmt.Sprintf("fewer than %d brokers: no topic can have the replication factor acks=all needs to protect data", topics.DurableReplicationFactor)})
	default:
		r.add(Step{Name: "metadata", Verdict: OK, Detail: detail})
	}
}

// topicSteps describes every topic once (with the principal's authorized
// operations) and reports one topic step and one produce step per topic.
func (r *run) topicSteps(ctx context.Context, cl *kgo.Client, names []string) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.StepTimeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	req.IncludeTopicAuthorizedOperations = true
	for _, n := range names {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, t)
	}
	md, err := req.RequestWith(ctx, cl)
	if err != nil {
		for _, n := range names {
			r.add(Step{Name: "topic " + n, Verdict: Fail, Detail: "describe failed: " + err.Error()})
			r.skip("produce "+n, "topic not described")
		}
		return
	}
	byName := map[string]kmsg.MetadataResponseTopic{}
	var found []string
	for _, t := range md.Topics {
		if t.Topic != nil {
			byName[*t.Topic] = t
			if t.ErrorCode == 0 {
				found = append(found, *t.Topic)
			}
		}
	}
	minIsr := r.minInsync(ctx, cl, found)
	for _, n := range names {
		t, ok := byName[n]
		if !ok {
			t.ErrorCode = kerr.UnknownTopicOrPartition.Code
		}
		r.topicStep(n, t, minIsr[n])
	}
}

// minInsync reads the effective min.insync.replicas of the topics; a topic
// missing from the result could not be read.
func (r *run) minInsync(ctx context.Context, cl *kgo.Client, names []string) map[string]int {
	out := map[string]int{}
	if len(names) == 0 {
		return out
	}
	rcs, _ := kadm.NewClient(cl).DescribeTopicConfigs(ctx, names...) // per-topic errors: left unknown
	for _, rc := range rcs {
		for _, c := range rc.Configs {
			if rc.Err == nil && c.Key == "min.insync.replicas" {
				out[rc.Name], _ = strconv.Atoi(c.MaybeValue())
			}
		}
	}
	return out
}

func (r *run) spec(name string) topics.Spec {
	t := r.k.Topics
	return topics.Spec{Name: name, Partitions: t.Partitions, ReplicationFactor: t.ReplicationFactor, MinInsyncReplicas: t.MinInsyncReplicas}
}

// topicStep judges one topic's configuration and current ISR, then its
// produce permission.
func (r *run) topicStep(name string, t kmsg.MetadataResponseTopic, minIsr int) {
	tname, pname := "topic "+name, "produce "+name
	switch err := kerr.ErrorForCode(t.ErrorCode); {
	case errors.Is(err, kerr.TopicAuthorizationFailed):
		r.add(Step{Name: tname, Verdict: Fail, Detail: "not authorized to describe the topic",
			Hint: fmt.Sprintf("grant DESCRIBE and WRITE on topic %s to %s", name, r.principal())})
		r.add(Step{Name: pname, Verdict: Fail, Detail: fmt.Sprintf("%s may not see the topic, so it cannot write it", r.principal()),
			Hint: r.aclHint(name)})
		return
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		p := topics.Check(r.spec(name), topics.Observed{})[0]
		r.add(Step{Name: tname, Verdict: Fail, Detail: p.Detail, Hint: p.Hint})
		r.skip(pname, "topic does not exist")
		return
	case err != nil:
		r.add(Step{Name: tname, Verdict: Fail, Detail: "describe failed: " + err.Error(), Hint: "see the broker logs"})
		r.skip(pname, "topic not described")
		return
	}
	obs := topics.Observed{Exists: true, Partitions: len(t.Partitions), MinInsyncReplicas: minIsr}
	for i, p := range t.Partitions {
		if i == 0 || len(p.Replicas) < obs.ReplicationFactor {
			obs.ReplicationFactor = len(p.Replicas)
		}
	}
	s := Step{Name: tname, Verdict: OK}
	var notes []string
	for _, p := range topics.Check(r.spec(name), obs) {
		notes = append(notes, p.Detail)
		s.Verdict, s.Hint = worse(s.Verdict, s.Hint, levelVerdict(p.Level), p.Hint)
	}
	for _, n := range isrFindings(t.Partitions, minIsr) {
		notes = append(notes, n.detail)
		s.Verdict, s.Hint = worse(s.Verdict, s.Hint, n.verdict, n.hint)
	}
	isr := "unknown"
	if minIsr > 0 {
		isr = strconv.Itoa(minIsr)
	}
	s.Detail = fmt.Sprintf("%d partitions, replication factor %d, min.insync.replicas %s", obs.Partitions, obs.ReplicationFactor, isr)
	if len(notes) > 0 {
		s.Detail += "; " + strings.Join(notes, "; ")
	}
	r.add(s)
	r.produceStep(name, t.AuthorizedOperations)
}

type finding struct {
	verdict      Verdict
	detail, hint string
}

// isrFindings checks each partition's leader and ISR against minIsr (0 =
// unknown: only leaderless and under-replicated partitions are judged).
func isrFindings(ps []kmsg.MetadataResponseTopicPartition, minIsr int) []finding {
	var offline, short, under []string
	for _, p := range ps {
		id := strconv.Itoa(int(p.Partition))
		switch {
		case p.Leader < 0:
			offline = append(offline, id)
		case minIsr > 0 && len(p.ISR) < minIsr:
			short = append(short, fmt.Sprintf("%s (isr %d)", id, len(p.ISR)))
		case len(p.ISR) < len(p.Replicas):
			under = append(under, fmt.Sprintf("%s (isr %d of %d)", id, len(p.ISR), len(p.Replicas)))
		}
	}
	var out []finding
	if len(offline) > 0 {
		out = append(out, finding{Fail, "partitions without leader: " + strings.Join(offline, ", "),
			"replicas of these partitions are all down: bring the brokers back"})
	}
	if len(short) > 0 {
		out = append(out, finding{Fail, fmt.Sprintf("ISR below min.insync.replicas %d in partitions %s: acks=all writes fail with NOT_ENOUGH_REPLICAS", minIsr, strings.Join(short, ", ")),
			"bring the missing brokers back (kafka-topics.sh --describe --under-min-isr-partitions)"})
	}
	if len(under) > 0 {
		out = append(out, finding{Warn, "under-replicated partitions: " + strings.Join(under, ", "),
			"a replica is down or lagging: check the brokers (kafka-topics.sh --describe --under-replicated-partitions)"})
	}
	return out
}

// produceStep judges the permission to write from the operations the broker
// says the principal may perform on the topic; nothing is written.
func (r *run) produceStep(name string, bits int32) {
	s := Step{Name: "produce " + name}
	if bits == math.MinInt32 {
		s.Verdict, s.Detail = Skip, "the broker did not report authorized operations"
		r.add(s)
		return
	}
	ops := kadm.DecodeACLOperations(bits)
	if slices.Contains(ops, kmsg.ACLOperationWrite) || slices.Contains(ops, kmsg.ACLOperationAll) {
		s.Verdict, s.Detail = OK, fmt.Sprintf("%s may WRITE (authorized operations reported by the broker)", r.principal())
		r.add(s)
		return
	}
	names := make([]string, 0, len(ops))
	for _, o := range ops {
		names = append(names, o.String())
	}
	s.Verdict = Fail
	s.Detail = fmt.Sprintf("%s may not WRITE the topic (allowed: %s): writes fail with TOPIC_AUTHORIZATION_FAILED", r.principal(), strings.Join(names, ", "))
	s.Hint = r.aclHint(name)
	r.add(s)
}

func (r *run) principal() string {
	if r.k.SASL.Username != "" {
		return "User:" + r.k.SASL.Username
	}
	return "the gateway's principal"
}

func (r *run) aclHint(topic string) string {
	p := "User:<gateway principal>"
	if r.k.SASL.Username != "" {
		p = "User:" + r.k.SASL.Username
	}
	return fmt.Sprintf("kafka-acls.sh --add --allow-principal %s --operation Write --operation Describe --topic %s", p, topic)
}

func levelVerdict(l topics.Level) Verdict {
	if l == topics.LevelError {
		return Fail
	}
	return Warn
}

// worse keeps the more severe verdict and the first hint of that severity.
func worse(cur Verdict, curHint string, v Verdict, hint string) (Verdict, string) {
	rank := map[Verdict]int{OK: 0, Skip: 0, Warn: 1, Fail: 2}
	if rank[v] > rank[cur] {
		return v, hint
	}
	return cur, curHint
}
