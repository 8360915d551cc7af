package connectors

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// memShared is an in-process Shared: the registry's side of the contract;
// package cluster and cmd/gateway test the Kafka side.
type memShared struct {
	fail    error
	targets map[string]Target
	workers []WorkerStatus
}

func (m *memShared) SetTarget(_ context.Context, name string, t Target) error {
	if m.fail != nil {
		return m.fail
	}
	m.targets[name] = t
	return nil
}

func (m *memShared) Workers(string) []WorkerStatus { return m.workers }

func TestAnActionThatCannotBeSharedIsA503AndChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.reg.Share(&memShared{fail: errors.New("broker down"), targets: map[string]Target{}}, "gw-1")
	if code, body := f.do(t, http.MethodPut, "/connectors/fhir-rest/pause"); code != http.StatusServiceUnavailable {
		t.Fatalf("pause: %d %s, want 503", code, body)
	}
	if f.rest.Paused() || f.status(t, "fhir-rest").Connector.State != StateRunning {
		t.Error("a pause not recorded for the other instances paused this one")
	}
	if code, _ := f.do(t, http.MethodPut, "/connectors/nope/pause"); code != http.StatusNotFound {
		t.Errorf("unknown connector: %d, want 404 before any write", code)
	}
}

func TestStatusListsEveryInstancesTasksAndTargetsApplyEverywhere(t *testing.T) {
	f := newFixture(t)
	sh := &memShared{targets: map[string]Target{}, workers: []WorkerStatus{{WorkerID: "gw-2:8080", InstanceID: "gw-2", State: StatePaused,
		Tasks: []TaskState{{ID: 0, State: StatePaused}, {ID: 1, State: StatePaused}}}}}
	f.reg.Share(sh, "gw-1")
	if code, body := f.do(t, http.MethodPut, "/connectors/fhir-rest/pause"); code != http.StatusAccepted {
		t.Fatalf("pause: %d %s", code, body)
	}
	if sh.targets["fhir-rest"].State != StatePaused {
		t.Errorf("recorded target %+v", sh.targets["fhir-rest"])
	}
	st := f.status(t, "fhir-rest")
	if len(st.Tasks) != 4 {
		t.Fatalf("tasks %+v, want 2 here and 2 on gw-2", st.Tasks)
	}
	for i, tk := range st.Tasks {
		wantWorker, wantInst := "gw-1:8080", "gw-1"
		if i >= 2 {
			wantWorker, wantInst = "gw-2:8080", "gw-2"
		}
		if tk.ID != i || tk.WorkerID != wantWorker || tk.InstanceID != wantInst || tk.State != StatePaused {
			t.Errorf("task %d = %+v", i, tk)
		}
	}
	// A restart recorded by another instance clears FAILED here and resumes.
	if err := f.reg.Fail("fhir-rest", "producer closed"); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Apply("fhir-rest", Target{State: StateRunning, Restart: "r1"}); err != nil {
		t.Fatal(err)
	}
	if f.rest.Paused() || f.status(t, "fhir-rest").Connector.State != StateRunning {
		t.Error("an applied restart did not resume and clear FAILED")
	}
	if err := f.reg.Apply("nope", Target{State: StatePaused}); !errors.Is(err, ErrNotFound) {
		t.Errorf("apply to an unknown connector: %v", err)
	}
}
