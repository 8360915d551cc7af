package connectors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrNotShared is returned when a target state could not be recorded for
// the other gateway instances (the status topic cannot be written); the
// local state is then left unchanged, so that the instances never disagree
// because of a failed write. The REST API answers 503.
var ErrNotShared = errors.New("connector state not recorded in kafka")

// Target is the state asked for a connector on every instance, as Kafka
// Connect's target state: StateRunning or StatePaused. Restart, when not
// empty, names one restart request (each request a new value): applying it
// also clears FAILED.
type Target struct {
	State   string `json:"state"`
	Restart string `json:"restart,omitempty"`
}

// WorkerStatus is one instance's status of one connector, as it publishes
// it for the others.
type WorkerStatus struct {
	WorkerID   string      `json:"worker_id"`
	InstanceID string      `json:"instance_id"`
	State      string      `json:"state"`
	Trace      string      `json:"trace,omitempty"`
	Tasks      []TaskState `json:"tasks"`
}

// Shared is where target states are recorded for every gateway instance
// and where the other instances' statuses are read (package cluster, on a
// compacted Kafka topic).
type Shared interface {
	// SetTarget records t for the connector name; it returns once the
	// record is stored (acks=all) or fails.
	SetTarget(ctx context.Context, name string, t Target) error
	// Workers returns the statuses of connector name published by the
	// other live instances.
	Workers(name string) []WorkerStatus
}

// Share makes r record pause, resume and restart in s before applying them
// here, and show the other instances' tasks in Status. Targets recorded by
// any instance come back through Apply.
func (r *Registry) Share(s Shared, instanceID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shared, r.instanceID = s, instanceID
}

// Apply sets the connector name to the target t recorded by some instance:
// paused or running, and a restart request clears FAILED. It is idempotent;
// it returns ErrNotFound for a connector this instance does not have.
func (r *Registry) Apply(name string, t Target) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.conns[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if t.Restart != "" && t.Restart != c.restart {
		c.restart, c.trace = t.Restart, ""
	}
	c.paused = t.State == StatePaused
	for _, p := range c.pipelines {
		p.SetPaused(c.paused)
	}
	return nil
}

// LocalStatus is this instance's status of the connector name, as
// published for the other instances.
func (r *Registry) LocalStatus(name string) (WorkerStatus, error) {
	st, err := r.localStatus(name)
	if err != nil {
		return WorkerStatus{}, err
	}
	r.mu.Lock()
	id := r.instanceID
	r.mu.Unlock()
	return WorkerStatus{WorkerID: r.workerID, InstanceID: id, State: st.Connector.State, Trace: st.Connector.Trace, Tasks: st.Tasks}, nil
}

// record writes t for name to the shared state, if any; the connector
// must exist. It is called without r.mu held: the write blocks.
func (r *Registry) record(ctx context.Context, name string, t Target) error {
	r.mu.Lock()
	_, ok := r.conns[name]
	s := r.shared
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if s == nil {
		return nil
	}
	if err := s.SetTarget(ctx, name, t); err != nil {
		return fmt.Errorf("%w: %w", ErrNotShared, err)
	}
	return nil
}

// withWorkers appends the other instances' tasks to st, numbered after
// this instance's, each naming its worker.
func (r *Registry) withWorkers(st Status) Status {
	r.mu.Lock()
	s := r.shared
	r.mu.Unlock()
	if s == nil {
		return st
	}
	for _, w := range s.Workers(st.Name) {
		for _, t := range w.Tasks {
			t.ID = len(st.Tasks)
			t.WorkerID, t.InstanceID = w.WorkerID, w.InstanceID
			st.Tasks = append(st.Tasks, t)
		}
	}
	return st
}

// newRestartID names one restart request.
func newRestartID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
