package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/connectors"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/mllp"
)

// opsURL returns the base URL of the listener serving /connectors.
func (g *gateway) opsURL(t *testing.T) string {
	t.Helper()
	for _, d := range g.http {
		u := "http://" + d.ln.Addr().String()
		if code, _ := httpDo(t, http.MethodGet, u+"/connectors"); code == http.StatusOK {
			return u
		}
	}
	t.Fatal("no listener serves /connectors")
	return ""
}

func httpDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestAPausedMLLPConnectorAnswersARAndKeepsTheConnectionUntilResumed(t *testing.T) {
	g, _ := startGateway(t, testConfig())
	base := g.opsURL(t)
	msg := adtA01(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := mllp.Dial(ctx, g.mllpAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sendOn := func(want string) {
		t.Helper()
		raw, err := c.Send(ctx, msg)
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		ack, err := hl7.ParseACK(raw)
		if err != nil {
			t.Fatalf("ack %q: %v", raw, err)
		}
		if ack.Code != want {
			t.Fatalf("ack = %+v, want %s", ack, want)
		}
	}
	state := func(want string) {
		t.Helper()
		code, body := httpDo(t, http.MethodGet, base+"/connectors/hl7-mllp/status")
		var st connectors.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil || code != http.StatusOK {
			t.Fatalf("status: %d %q (%v)", code, body, err)
		}
		if st.Connector.State != want || st.Type != "hl7-mllp" || len(st.Tasks) != 1 {
			t.Fatalf("status = %+v, want %s", st, want)
		}
	}

	sendOn("AA")
	if code, body := httpDo(t, http.MethodPut, base+"/connectors/hl7-mllp/pause"); code != http.StatusAccepted {
		t.Fatalf("pause: %d %s", code, body)
	}
	state(connectors.StatePaused)
	sendOn("AR")
	sendOn("AR") // the connection is still usable
	if code, body := httpDo(t, http.MethodPut, base+"/connectors/hl7-mllp/resume"); code != http.StatusAccepted {
		t.Fatalf("resume: %d %s", code, body)
	}
	state(connectors.StateRunning)
	sendOn("AA")

	_, metrics := httpDo(t, http.MethodGet, base+"/metrics")
	want := `gateway_unavailable_total{connector="hl7-mllp",reason="paused"} 2`
	if !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if code, _ := httpDo(t, http.MethodGet, base+"/connectors/no-such"); code != http.StatusNotFound {
		t.Errorf("unknown connector: %d, want 404", code)
	}
}
