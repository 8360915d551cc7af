package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hl7gw/gateway/cluster"
	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/connectors"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/topics"
)

// Join timings. At start the gateway tries to join for startJoinTimeout
// (a previous holder's liveness wait fits in it); when the status topic
// cannot be reached it starts anyway, not ready, and retries every
// joinRetry, each attempt bounded by joinTimeout.
const (
	startJoinTimeout = 10 * time.Second
	joinTimeout      = 30 * time.Second
	joinRetry        = 2 * time.Second
)

// errStatusTopic is a status topic the gateway cannot use as configured.
var errStatusTopic = errors.New("status topic unusable")

// errNotJoined keeps /readyz at 503 until the status topic is read.
var errNotJoined = errors.New("not joined: the status topic (instance ids, connector states) is not read yet")

// identify settles this gateway's instance id (configured, kept in the
// state directory, or new), puts it on every log line and exports
// gateway_instance_info{instance_id}. It returns the Kafka settings with
// the id in the client.id and transactional ids.
func (g *gateway) identify() error {
	id, err := cluster.InstanceID(g.cfg.InstanceID, g.cfg.StateDir)
	if err != nil {
		return err
	}
	g.instanceID = id
	g.log = g.log.With(slog.String("instance_id", id))
	g.cfg.Kafka = publish.ForInstance(g.cfg.Kafka, id)
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "gateway_instance_info",
		Help:        "1, labelled with this gateway's instance id (the id in its transactional ids, client.id and logs).",
		ConstLabels: prometheus.Labels{"instance_id": id},
	})
	info.Set(1)
	g.reg.MustRegister(info)
	return nil
}

// joinCluster opens the status topic and claims the instance id (see
// joinOnce). A second process with an id in use, or a status topic that is
// not compacted, refuses the start. When Kafka cannot be reached (no
// broker, refused credentials or ACLs) the gateway starts all the same, as
// it always has, answering AR while nothing can be stored, but /readyz
// stays 503 (a load balancer sends it nothing) until a background attempt
// joins; a conflict found then stops the gateway.
func (g *gateway) joinCluster(ctx context.Context, brokers []string) error {
	// Not the producer's options: with the embedded broker they allow
	// topic auto-creation, which would make the topic before Ensure makes
	// it compacted.
	opts, err := publish.Options(g.cfg.Kafka, brokers)
	if err != nil {
		return err
	}
	g.member, err = cluster.New(cluster.Config{InstanceID: g.instanceID, WorkerID: workerID(g.cfg.HTTPAddr),
		Topic: g.cfg.Kafka.Topics.StatusTopic, Log: g.log}, opts...)
	if err != nil {
		return err
	}
	ping := g.ready.ping
	g.ready.ping = func(ctx context.Context) error {
		if !g.member.Joined() {
			return errNotJoined
		}
		return ping(ctx)
	}
	err = g.joinOnce(ctx, startJoinTimeout)
	if err == nil || fatalJoin(err) {
		return err
	}
	g.log.Warn("status topic not reachable at start; joining in the background, not ready until then",
		slog.String("status_topic", g.cfg.Kafka.Topics.StatusTopic), slog.String("error", err.Error()))
	g.background(func(ctx context.Context) {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(joinRetry):
			}
			err := g.joinOnce(ctx, joinTimeout)
			switch {
			case err == nil:
				return
			case fatalJoin(err):
				g.log.Error("gateway cannot run", slog.String("error", err.Error()))
				select {
				case g.errc <- err:
				default:
				}
				return
			case ctx.Err() == nil:
				g.log.Debug("status topic still not reachable", slog.String("error", err.Error()))
			}
		}
	})
	return nil
}

// fatalJoin reports whether a join error is one no retry can cure.
func fatalJoin(err error) bool {
	return errors.Is(err, cluster.ErrInstanceIDInUse) || errors.Is(err, errNotCompacted)
}

// errNotCompacted is a status topic whose records would be deleted.
var errNotCompacted = errors.New("status topic is not compacted")

// joinOnce creates (always, like Kafka Connect's internal topics) and
// checks the compacted status topic, reads it, and claims the instance id
// (cluster.Member.Join), within timeout.
func (g *gateway) joinOnce(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := g.cfg.Kafka.Topics.StatusTopic
	adm := kadm.NewClient(g.prod.Client())
	spec, err := g.stateTopicSpec(ctx, adm, name)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errStatusTopic, name, err)
	}
	rep, err := topics.Ensure(ctx, adm, []topics.Spec{spec}, true)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errStatusTopic, name, err)
	}
	for _, p := range rep.Topics[0].Problems {
		if p.Code == topics.CodeNotCompacted {
			return fmt.Errorf("%w: %s", errNotCompacted, p)
		}
	}
	if rep.HasErrors() {
		return fmt.Errorf("%w: %s", errStatusTopic, rep)
	}
	for _, p := range rep.Topics[0].Problems {
		if !g.cfg.Embedded() {
			g.log.Warn("topic problem", slog.String("topic", name), slog.String("code", p.Code), slog.String("detail", p.Detail), slog.String("hint", p.Hint))
		}
	}
	if err := g.member.Join(ctx); err != nil {
		return err
	}
	g.log.Info("joined the gateway instances", slog.String("status_topic", name))
	return nil
}

// stateTopicSpec is the spec of a compacted state topic of one partition:
// the configured replication factor and min.insync.replicas, lowered to
// the brokers there are (a development cluster of one broker still runs,
// with a warning from the topic check).
func (g *gateway) stateTopicSpec(ctx context.Context, adm *kadm.Client, name string) (topics.Spec, error) {
	spec := topics.Spec{Name: name, Partitions: 1, ReplicationFactor: g.cfg.ReplicationFactor(),
		MinInsyncReplicas: g.cfg.Kafka.Topics.MinInsyncReplicas, Compact: true}
	if g.cfg.Embedded() {
		spec.MinInsyncReplicas = 0
		return spec, nil
	}
	bs, err := adm.ListBrokers(ctx)
	if err != nil {
		return spec, fmt.Errorf("list brokers: %w", err)
	}
	if n := len(bs); n > 0 && n < spec.ReplicationFactor {
		spec.ReplicationFactor = n
		spec.MinInsyncReplicas = min(spec.MinInsyncReplicas, max(1, n-1))
	}
	return spec, nil
}

// shareConnectors makes pause, resume and restart go through the status
// topic and applies every target state read there (the ones recorded
// before this start first), publishing this instance's status after each.
func (g *gateway) shareConnectors() {
	if g.member == nil {
		return
	}
	g.conns.Share(g.member, g.instanceID)
	g.member.Subscribe(func(name string, t connectors.Target) {
		if err := g.conns.Apply(name, t); err != nil {
			return // a connector this instance does not run
		}
		g.log.Info("connector target state applied", slog.String("connector", name), slog.String("state", t.State))
		g.publishStatus(name)
	})
}

// publishStatus writes this instance's status of connector name to the
// status topic.
func (g *gateway) publishStatus(name string) {
	if g.member == nil {
		return
	}
	if ws, err := g.conns.LocalStatus(name); err == nil {
		g.member.PublishStatus(name, ws)
	}
}

// leaveTimeout bounds writing the leave records at shutdown: they are a
// courtesy (a restart need not wait out the liveness time), not data.
const leaveTimeout = 2 * time.Second

// leaveCluster deletes this instance's statuses and marks its id free,
// after the doors are drained. A failure is logged, not returned: nothing
// stored depends on it, and a restart then waits up to the liveness time.
func (g *gateway) leaveCluster(ctx context.Context) {
	if g.member == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, leaveTimeout)
	defer cancel()
	if err := g.member.Leave(ctx, g.conns.Names()); err != nil {
		g.log.Warn("status topic not told of the shutdown", slog.String("error", err.Error()))
	}
}

// openSharedDedup reads the dedup topic (created and checked first, like
// the status topic) when a connector asks for hl7.dedup.scope=cluster, so
// that the doors built next share the memory of stored messages.
func (g *gateway) openSharedDedup(ctx context.Context, brokers []string) error {
	var window time.Duration
	for _, c := range g.cfg.Connectors {
		s, err := c.Settings(g.cfg)
		if err != nil {
			return fmt.Errorf("connector %s: %w", c.Name, err)
		}
		if s.Edge.Dedup && s.Edge.DedupScope == config.DedupScopeCluster {
			window = max(window, s.Edge.DedupWindow)
		}
	}
	if window == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, startJoinTimeout)
	defer cancel()
	name := g.cfg.Kafka.Topics.DedupTopic
	// Not the producer's options: with the embedded broker they allow
	// topic auto-creation, which would make the topic before Ensure makes
	// it compacted.
	opts, err := publish.Options(g.cfg.Kafka, brokers)
	if err != nil {
		return err
	}
	g.dedupLog, err = cluster.NewDedupLog(name, g.instanceID, g.log, opts...)
	if err != nil {
		return err
	}
	// Unlike the status topic, nothing here can make acceptance wrong: a
	// memory not read yet or not writable means a resend may be stored
	// twice (counted as not_shared), as without sharing. So problems are
	// warnings and the reader keeps trying.
	if err := g.ensureDedupTopic(ctx, name, window); err != nil {
		g.log.Warn("dedup topic not checked", slog.String("topic", name), slog.String("error", err.Error()))
		return nil
	}
	if err := g.dedupLog.CatchUp(ctx); err != nil {
		g.log.Warn("dedup topic not read to its end at start", slog.String("topic", name), slog.String("error", err.Error()))
		return nil
	}
	g.log.Info("shared duplicate memory read", slog.String("dedup_topic", name), slog.Int("remembered", g.dedupLog.Len()))
	return nil
}

// ensureDedupTopic creates the dedup topic, spread over partitions (every
// instance reads them all), records older than twice the longest window
// deleted, and checks it.
func (g *gateway) ensureDedupTopic(ctx context.Context, name string, window time.Duration) error {
	adm := kadm.NewClient(g.prod.Client())
	spec, err := g.stateTopicSpec(ctx, adm, name)
	if err != nil {
		return err
	}
	spec.Partitions, spec.Retention = g.cfg.Kafka.Topics.Partitions, 2*window
	rep, err := topics.Ensure(ctx, adm, []topics.Spec{spec}, true)
	if err != nil {
		return err
	}
	if rep.HasErrors() {
		return errors.New(rep.String())
	}
	return nil
}

// sharedMemory is the memory of stored messages a connector shares with
// the other instances, or nil for hl7.dedup.scope=process.
func (g *gateway) sharedMemory(s config.ConnectorSettings) hl7door.SharedMemory {
	if g.dedupLog == nil || s.Edge.DedupScope != config.DedupScopeCluster {
		return nil
	}
	return g.dedupLog
}
