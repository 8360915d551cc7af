package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/cluster"
	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/connectors"
	"github.com/hl7gw/gateway/ingest/hl7"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/topics"
)

// joinTimeout bounds creating and checking the status topic, reading it
// and claiming the instance id at start (a previous holder's liveness wait
// included).
const joinTimeout = 30 * time.Second

// errStatusTopic is a status topic the gateway cannot use as configured.
var errStatusTopic = errors.New("status topic unusable")

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

// joinCluster creates (always, like Kafka Connect's internal topics) and
// checks the compacted status topic, reads it, and claims the instance id:
// a second process with an id in use is refused here with
// cluster.ErrInstanceIDInUse.
func (g *gateway) joinCluster(ctx context.Context, brokers []string, extra []kgo.Opt) error {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
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
	if rep.HasErrors() {
		return fmt.Errorf("%w: %s", errStatusTopic, rep)
	}
	for _, p := range rep.Topics[0].Problems {
		if !g.cfg.Embedded() {
			g.log.Warn("topic problem", slog.String("topic", name), slog.String("code", p.Code), slog.String("detail", p.Detail), slog.String("hint", p.Hint))
		}
	}
	opts, err := publish.Options(g.cfg.Kafka, brokers, extra...)
	if err != nil {
		return err
	}
	g.member, err = cluster.New(cluster.Config{InstanceID: g.instanceID, WorkerID: workerID(g.cfg.HTTPAddr),
		Topic: name, Log: g.log}, opts...)
	if err != nil {
		return err
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
func (g *gateway) openSharedDedup(ctx context.Context, brokers []string, extra []kgo.Opt) error {
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
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	name := g.cfg.Kafka.Topics.DedupTopic
	adm := kadm.NewClient(g.prod.Client())
	spec, err := g.stateTopicSpec(ctx, adm, name)
	if err != nil {
		return fmt.Errorf("dedup topic %s: %w", name, err)
	}
	// Spread over partitions (every instance reads them all); records
	// older than twice the longest window are deleted.
	spec.Partitions, spec.Retention = g.cfg.Kafka.Topics.Partitions, 2*window
	rep, err := topics.Ensure(ctx, adm, []topics.Spec{spec}, true)
	if err != nil {
		return fmt.Errorf("dedup topic %s: %w", name, err)
	}
	if rep.HasErrors() {
		return fmt.Errorf("dedup topic: %s", rep)
	}
	opts, err := publish.Options(g.cfg.Kafka, brokers, extra...)
	if err != nil {
		return err
	}
	g.dedupLog, err = cluster.NewDedupLog(name, g.instanceID, g.log, opts...)
	if err != nil {
		return err
	}
	if err := g.dedupLog.CatchUp(ctx); err != nil {
		return err
	}
	g.log.Info("shared duplicate memory read", slog.String("dedup_topic", name), slog.Int("remembered", g.dedupLog.Len()))
	return nil
}

// sharedMemory is the memory of stored messages a connector shares with
// the other instances, or nil for hl7.dedup.scope=process.
func (g *gateway) sharedMemory(s config.ConnectorSettings) hl7.SharedMemory {
	if g.dedupLog == nil || s.Edge.DedupScope != config.DedupScopeCluster {
		return nil
	}
	return g.dedupLog
}
