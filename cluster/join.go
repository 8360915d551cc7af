package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/connectors"
)

// Join claims the instance id and starts heartbeating it; it returns once
// this instance has read every record written before its claim, so that
// connector target states are known before the doors open.
//
// The check, with only Kafka's ordering of one key's records and no clock
// shared between hosts:
//
//  1. Read the topic to its end. If the id's latest heartbeat is another
//     process's and says alive, wait up to Liveness for another one: one
//     arriving means that process runs (ErrInstanceIDInUse); none means it
//     died without saying so (a crash), and the id is free. A clean
//     shutdown writes alive=false (Leave), and a restart need not wait.
//  2. Write our own heartbeat and read up to it. A heartbeat of another
//     process between the end read in 1 and ours means two processes
//     started at once with the same id: the later claim in the log is
//     refused, the earlier one runs.
//
// A gateway that cannot read or write the status topic within ctx does not
// start: it could neither prove the id free nor know which connectors are
// paused.
func (m *Member) Join(ctx context.Context) error {
	start, err := m.catchUp(ctx)
	if err != nil {
		return err
	}
	if err := m.waitPrevious(ctx); err != nil {
		return err
	}
	rec := m.heartbeatRecord(true)
	if err := produce(ctx, m.cl, rec); err != nil {
		return fmt.Errorf("cluster: write heartbeat to %s: %w", m.cfg.Topic, err)
	}
	if err := m.waitRead(ctx, rec.Partition, rec.Offset+1); err != nil {
		return err
	}
	m.mu.Lock()
	var rival *claim
	for i, c := range m.foreign {
		if c.partition == rec.Partition && c.offset >= start[c.partition] && c.offset < rec.Offset && c.hb.Alive {
			rival = &m.foreign[i]
		}
	}
	m.mu.Unlock()
	if rival != nil {
		return inUse(m.cfg.InstanceID, rival.hb, "started at the same time")
	}
	m.mu.Lock()
	m.joined = true
	m.mu.Unlock()
	m.mu.Lock()
	m.hbDone = make(chan struct{})
	m.mu.Unlock()
	go m.heartbeatLoop()
	return nil
}

// waitPrevious is step 1 of Join.
func (m *Member) waitPrevious(ctx context.Context) error {
	m.mu.Lock()
	last, ok := m.seen[m.cfg.InstanceID]
	n := len(m.foreign)
	m.mu.Unlock()
	if !ok || !last.hb.Alive || last.hb.Incarnation == m.incarnation {
		return nil
	}
	m.log.Info("instance id was last heartbeated by another process; waiting to see whether it still runs",
		slog.String("holder_host", last.hb.Host), slog.Int("holder_pid", last.hb.PID), slog.Duration("wait", m.cfg.Liveness))
	deadline := time.NewTimer(m.cfg.Liveness)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		ch := m.changed
		for _, c := range m.foreign[n:] {
			if c.hb.Alive {
				m.mu.Unlock()
				return inUse(m.cfg.InstanceID, c.hb, "heartbeating")
			}
		}
		n = len(m.foreign)
		m.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for the previous holder of instance id %s: %w", m.cfg.InstanceID, ctx.Err())
		}
	}
}

func inUse(id string, hb heartbeat, how string) error {
	return fmt.Errorf("%w: %s is %s on host %s (pid %d, REST %s); give every instance its own instance_id, or leave it empty to derive one",
		ErrInstanceIDInUse, id, how, hb.Host, hb.PID, hb.WorkerID)
}

func (m *Member) heartbeatRecord(alive bool) *kgo.Record {
	hb := heartbeat{Incarnation: m.incarnation, Host: hostname(), PID: os.Getpid(), WorkerID: m.cfg.WorkerID, Alive: alive}
	return &kgo.Record{Topic: m.cfg.Topic, Key: []byte(instanceKey(m.cfg.InstanceID)), Value: mustJSON(hb)}
}

// heartbeatLoop writes a heartbeat every Heartbeat until Close.
func (m *Member) heartbeatLoop() {
	defer close(m.hbDone)
	t := time.NewTicker(m.cfg.Heartbeat)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-m.done; cancel() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wctx, wcancel := context.WithTimeout(ctx, m.cfg.Liveness)
		err := produce(wctx, m.cl, m.heartbeatRecord(true))
		wcancel()
		if err != nil && ctx.Err() == nil {
			m.log.Warn("status topic heartbeat not written", slog.String("topic", m.cfg.Topic), slog.String("error", err.Error()))
		}
	}
}

// Leave tells the other instances that this one stops: its statuses are
// deleted and its id is marked free, so that a restart need not wait. Call
// it after the doors are drained, before Close.
func (m *Member) Leave(ctx context.Context, connectorNames []string) error {
	m.mu.Lock()
	joined := m.joined
	m.mu.Unlock()
	if !joined {
		return nil
	}
	recs := make([]*kgo.Record, 0, len(connectorNames)+1)
	for _, n := range connectorNames {
		recs = append(recs, &kgo.Record{Topic: m.cfg.Topic, Key: []byte(statusKey(n, m.cfg.InstanceID))})
	}
	recs = append(recs, m.heartbeatRecord(false))
	if err := produce(ctx, m.cl, recs...); err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}

// SetTarget records the target state of connector name for every instance
// (connectors.Shared). It returns once the record is stored.
func (m *Member) SetTarget(ctx context.Context, name string, t connectors.Target) error {
	v := targetValue{Connector: name, Target: t, By: m.cfg.InstanceID}
	rec := &kgo.Record{Topic: m.cfg.Topic, Key: []byte(targetKey(name)), Value: mustJSON(v)}
	if err := produce(ctx, m.cl, rec); err != nil {
		return fmt.Errorf("cluster: record target of %s: %w", name, err)
	}
	return nil
}

// PublishStatus writes this instance's status of connector name for the
// others, without waiting; a failed write is logged, the next change
// writes again.
func (m *Member) PublishStatus(name string, ws connectors.WorkerStatus) {
	rec := &kgo.Record{Topic: m.cfg.Topic, Key: []byte(statusKey(name, m.cfg.InstanceID)),
		Value: mustJSON(statusValue{Connector: name, Status: ws})}
	m.cl.Produce(context.Background(), rec, func(_ *kgo.Record, err error) {
		if err != nil {
			m.log.Warn("connector status not written", slog.String("connector", name), slog.String("error", err.Error()))
		}
	})
}

// Workers returns the statuses of connector name published by the other
// instances whose heartbeat was read within Liveness and did not say they
// stopped (connectors.Shared), ordered by instance id.
func (m *Member) Workers(name string) []connectors.WorkerStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []connectors.WorkerStatus
	for inst, ws := range m.statuses[name] {
		s, ok := m.seen[inst]
		if inst == m.cfg.InstanceID || !ok || !s.hb.Alive || time.Since(s.at) > m.cfg.Liveness {
			continue
		}
		out = append(out, ws)
	}
	slices.SortFunc(out, func(a, b connectors.WorkerStatus) int { return strings.Compare(a.InstanceID, b.InstanceID) })
	return out
}
