// Package connectors is the gateway's Kafka Connect-style connectors REST
// API: it lists the front doors (connectors), shows their configuration
// with secrets hidden and their state, and pauses, resumes and restarts
// them.
//
// A connector owns one or more pipelines (an hl7-mllp connector has one,
// a fhir-rest or grpc connector has an HL7 and a FHIR pipeline); each
// pipeline is one task in the status. Pausing a connector pauses all its
// pipelines: they answer every message unavailable (AR, 503, UNAVAILABLE)
// until resumed, and nothing is lost or half-stored.
package connectors

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Connector and task states, as Kafka Connect spells them.
const (
	StateRunning = "RUNNING"
	StatePaused  = "PAUSED"
	StateFailed  = "FAILED"
)

// ErrNotFound is returned for a connector name that is not registered.
var ErrNotFound = errors.New("connector not found")

// Pausable is what a connector controls: a pipeline.
type Pausable interface {
	SetPaused(bool)
	Paused() bool
}

// hidden replaces the value of every secret configuration key.
const hidden = "[hidden]"

// secretWords mark a configuration key whose value is never shown.
var secretWords = []string{"password", "secret", "token", "credential", "jaas", "private"}

// Registry holds the connectors of one gateway. Safe for concurrent use.
type Registry struct {
	workerID string

	mu         sync.Mutex
	conns      map[string]*connector
	shared     Shared // nil: this instance alone (see Share)
	instanceID string
}

type connector struct {
	name      string
	typ       string
	config    map[string]string
	pipelines []Pausable
	paused    bool   // the state asked for when there is no pipeline
	trace     string // non-empty: FAILED, with this trace
	restart   string // the last restart request applied (Target.Restart)
}

// NewRegistry returns an empty registry; workerID names this gateway
// instance in statuses (Kafka Connect uses host:port).
func NewRegistry(workerID string) *Registry {
	return &Registry{workerID: workerID, conns: map[string]*connector{}}
}

// Register adds a connector, or updates the type and configuration of one
// already registered (its pipelines are kept). The configuration is copied.
func (r *Registry) Register(name, typ string, config map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.get(name)
	c.typ, c.config = typ, maps.Clone(config)
}

// AddPipeline gives a pipeline to the connector name, registering the
// connector (with no type) if needed. A pipeline added to a paused
// connector is paused.
func (r *Registry) AddPipeline(name string, p Pausable) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.get(name)
	if c.paused {
		p.SetPaused(true)
	}
	c.pipelines = append(c.pipelines, p)
}

// get returns the connector name, creating it. r.mu must be held.
func (r *Registry) get(name string) *connector {
	c, ok := r.conns[name]
	if !ok {
		c = &connector{name: name}
		r.conns[name] = c
	}
	return c
}

// Names returns the registered connector names, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.conns))
}

// Info is a connector's description: GET /connectors/{name}.
type Info struct {
	Name   string            `json:"name"`
	Type   string            `json:"type"`
	Config map[string]string `json:"config"`
	Tasks  []TaskID          `json:"tasks"`
}

// TaskID names one task (pipeline) of a connector.
type TaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

// Info describes the connector name; secret values are replaced by
// "[hidden]".
func (r *Registry) Info(name string) (Info, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.conns[name]
	if !ok {
		return Info{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	cfg := make(map[string]string, len(c.config)+2)
	for k, v := range c.config {
		if isSecret(k) {
			v = hidden
		}
		cfg[k] = v
	}
	cfg["name"] = c.name
	if c.typ != "" {
		cfg["connector.type"] = c.typ
	}
	tasks := make([]TaskID, len(c.pipelines))
	for i := range c.pipelines {
		tasks[i] = TaskID{Connector: c.name, Task: i}
	}
	return Info{Name: c.name, Type: c.typ, Config: cfg, Tasks: tasks}, nil
}

func isSecret(key string) bool {
	k := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Status is Kafka Connect's connector status shape.
type Status struct {
	Name      string      `json:"name"`
	Connector StateInfo   `json:"connector"`
	Tasks     []TaskState `json:"tasks"`
	Type      string      `json:"type"`
}

// StateInfo is the state of a connector.
type StateInfo struct {
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// TaskState is the state of one task (pipeline).
type TaskState struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	// InstanceID is the gateway instance running the task (not in Kafka
	// Connect, whose worker id is enough there).
	InstanceID string `json:"instance_id,omitempty"`
	Trace      string `json:"trace,omitempty"`
}

// Status reports the state of the connector name on this instance: FAILED
// when marked failed, else PAUSED when every pipeline is paused, else
// RUNNING. Each task reports its own pipeline; with shared state (Share)
// the tasks of the other live instances follow, each with its worker.
func (r *Registry) Status(name string) (Status, error) {
	st, err := r.localStatus(name)
	if err != nil {
		return Status{}, err
	}
	return r.withWorkers(st), nil
}

func (r *Registry) localStatus(name string) (Status, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.conns[name]
	if !ok {
		return Status{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	st := Status{Name: c.name, Type: c.typ, Tasks: make([]TaskState, len(c.pipelines))}
	paused := c.paused
	if len(c.pipelines) > 0 {
		paused = true
	}
	for i, p := range c.pipelines {
		t := TaskState{ID: i, State: StateRunning, WorkerID: r.workerID, InstanceID: r.instanceID}
		if p.Paused() {
			t.State = StatePaused
		} else {
			paused = false
		}
		if c.trace != "" {
			t.State, t.Trace = StateFailed, c.trace
		}
		st.Tasks[i] = t
	}
	st.Connector = StateInfo{State: StateRunning, WorkerID: r.workerID}
	switch {
	case c.trace != "":
		st.Connector.State, st.Connector.Trace = StateFailed, c.trace
	case paused:
		st.Connector.State = StatePaused
	}
	return st, nil
}

// Pause pauses every pipeline of the connector name, on every instance
// when the state is shared (it is recorded first; see ErrNotShared).
func (r *Registry) Pause(ctx context.Context, name string) error {
	if err := r.record(ctx, name, Target{State: StatePaused}); err != nil {
		return err
	}
	return r.setPaused(name, true)
}

// Resume resumes every pipeline of the connector name, on every instance
// when the state is shared. A FAILED connector stays FAILED until
// restarted.
func (r *Registry) Resume(ctx context.Context, name string) error {
	if err := r.record(ctx, name, Target{State: StateRunning}); err != nil {
		return err
	}
	return r.setPaused(name, false)
}

func (r *Registry) setPaused(name string, v bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.conns[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	c.paused = v
	for _, p := range c.pipelines {
		p.SetPaused(v)
	}
	return nil
}

// Fail marks the connector name FAILED with trace (a short, body-free
// explanation) until it is restarted. Its pipelines are not paused.
func (r *Registry) Fail(name, trace string) error {
	if trace == "" {
		trace = "failed"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.conns[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	c.trace = trace
	return nil
}

// Restart clears FAILED and resumes every pipeline of the connector name,
// on every instance when the state is shared.
func (r *Registry) Restart(ctx context.Context, name string) error {
	if err := r.record(ctx, name, Target{State: StateRunning, Restart: newRestartID()}); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.conns[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	c.trace, c.paused = "", false
	for _, p := range c.pipelines {
		p.SetPaused(false)
	}
	return nil
}
