package connectors

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakePipeline records its paused state as a pipeline does.
type fakePipeline struct{ paused atomic.Bool }

func (p *fakePipeline) SetPaused(v bool) { p.paused.Store(v) }
func (p *fakePipeline) Paused() bool     { return p.paused.Load() }

type fixture struct {
	srv        *httptest.Server
	reg        *Registry
	mllp       *fakePipeline
	rest, fhir *fakePipeline
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{reg: NewRegistry("gw-1:8080"), mllp: &fakePipeline{}, rest: &fakePipeline{}, fhir: &fakePipeline{}}
	f.reg.Register("adt-feed", "hl7-mllp", map[string]string{"listen.address": ":2575", "ssl.keystore.password": "hunter2"})
	f.reg.AddPipeline("adt-feed", f.mllp)
	f.reg.Register("fhir-rest", "fhir-rest", nil)
	f.reg.AddPipeline("fhir-rest", f.rest)
	f.reg.AddPipeline("fhir-rest", f.fhir)
	f.srv = httptest.NewServer(f.reg.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// do sends one request and returns the status code and body.
func (f *fixture) do(t *testing.T, method, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (f *fixture) status(t *testing.T, name string) Status {
	t.Helper()
	code, body := f.do(t, http.MethodGet, "/connectors/"+name+"/status")
	if code != http.StatusOK {
		t.Fatalf("status %s: %d %s", name, code, body)
	}
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("status %s: %v in %s", name, err, body)
	}
	return st
}

func TestListingReturnsEveryConnectorNameSorted(t *testing.T) {
	f := newFixture(t)
	code, body := f.do(t, http.MethodGet, "/connectors")
	var names []string
	if err := json.Unmarshal([]byte(body), &names); err != nil || code != http.StatusOK {
		t.Fatalf("got %d %q (%v)", code, body, err)
	}
	if want := []string{"adt-feed", "fhir-rest"}; !slices.Equal(names, want) {
		t.Errorf("names = %v, want %v", names, want)
	}
}

func TestAConnectorShowsItsConfigWithSecretsHidden(t *testing.T) {
	f := newFixture(t)
	code, body := f.do(t, http.MethodGet, "/connectors/adt-feed")
	if code != http.StatusOK {
		t.Fatalf("got %d %s", code, body)
	}
	if strings.Contains(body, "hunter2") {
		t.Fatalf("secret shown: %s", body)
	}
	var info Info
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != "adt-feed" || info.Type != "hl7-mllp" || info.Config["listen.address"] != ":2575" ||
		info.Config["ssl.keystore.password"] != hidden || len(info.Tasks) != 1 {
		t.Errorf("info = %+v", info)
	}
}

func TestStatusHasKafkaConnectsShape(t *testing.T) {
	f := newFixture(t)
	_, body := f.do(t, http.MethodGet, "/connectors/fhir-rest/status")
	var raw map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "connector", "tasks", "type"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("status lacks %q: %s", k, body)
		}
	}
	st := f.status(t, "fhir-rest")
	if st.Connector.State != StateRunning || st.Connector.WorkerID != "gw-1:8080" || len(st.Tasks) != 2 ||
		st.Tasks[1].ID != 1 || st.Tasks[1].State != StateRunning {
		t.Errorf("status = %+v", st)
	}
}

func TestPauseResumeAndRestartDriveEveryPipelineOfTheConnector(t *testing.T) {
	type step struct {
		method, path string
		wantCode     int
		wantState    string
		wantPaused   bool
	}
	tests := []struct {
		name  string
		fail  bool
		steps []step
	}{
		{name: "pause then resume answers 202 and flips both pipelines", steps: []step{
			{http.MethodPut, "/connectors/fhir-rest/pause", http.StatusAccepted, StatePaused, true},
			{http.MethodPut, "/connectors/fhir-rest/pause", http.StatusAccepted, StatePaused, true},
			{http.MethodPut, "/connectors/fhir-rest/resume", http.StatusAccepted, StateRunning, false},
		}},
		{name: "a failed connector stays failed on resume and is cleared by restart", fail: true, steps: []step{
			{http.MethodPut, "/connectors/fhir-rest/pause", http.StatusAccepted, StateFailed, true},
			{http.MethodPut, "/connectors/fhir-rest/resume", http.StatusAccepted, StateFailed, false},
			{http.MethodPost, "/connectors/fhir-rest/restart", http.StatusNoContent, StateRunning, false},
		}},
		{name: "restart of a paused connector resumes it", steps: []step{
			{http.MethodPut, "/connectors/fhir-rest/pause", http.StatusAccepted, StatePaused, true},
			{http.MethodPost, "/connectors/fhir-rest/restart", http.StatusNoContent, StateRunning, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.fail {
				if err := f.reg.Fail("fhir-rest", "producer closed"); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range tt.steps {
				if code, body := f.do(t, s.method, s.path); code != s.wantCode {
					t.Fatalf("%s %s = %d %s, want %d", s.method, s.path, code, body, s.wantCode)
				}
				st := f.status(t, "fhir-rest")
				if st.Connector.State != s.wantState {
					t.Errorf("after %s %s: state %s, want %s", s.method, s.path, st.Connector.State, s.wantState)
				}
				if f.rest.Paused() != s.wantPaused || f.fhir.Paused() != s.wantPaused {
					t.Errorf("after %s %s: paused %v/%v, want %v", s.method, s.path, f.rest.Paused(), f.fhir.Paused(), s.wantPaused)
				}
				if f.mllp.Paused() {
					t.Errorf("another connector was paused")
				}
			}
		})
	}
}

func TestAnUnknownConnectorIsA404JSONError(t *testing.T) {
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/connectors/nope"},
		{http.MethodGet, "/connectors/nope/status"},
		{http.MethodPut, "/connectors/nope/pause"},
		{http.MethodPut, "/connectors/nope/resume"},
		{http.MethodPost, "/connectors/nope/restart"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			f := newFixture(t)
			code, body := f.do(t, tt.method, tt.path)
			var e ErrorBody
			if err := json.Unmarshal([]byte(body), &e); err != nil || code != http.StatusNotFound ||
				e.ErrorCode != 404 || !strings.Contains(e.Message, "nope") {
				t.Errorf("got %d %q (%v)", code, body, err)
			}
		})
	}
}

func TestAPipelineAddedToAPausedConnectorStartsPaused(t *testing.T) {
	r := NewRegistry("w")
	r.Register("c", "grpc", nil)
	if err := r.Pause(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	p := &fakePipeline{}
	r.AddPipeline("c", p)
	if !p.Paused() {
		t.Error("pipeline not paused")
	}
}
