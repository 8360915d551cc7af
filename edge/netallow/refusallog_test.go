package netallow

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

func TestRefusalLogWritesTheFirstLinesPerSourceAndThenACount(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(1_700_000_000, 0)
	l := NewRefusalLog(slog.New(slog.NewJSONHandler(&buf, nil)), RefusalLogOptions{First: 3, Now: func() time.Time { return clock }})
	a := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1000}
	b := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 1000}
	for i := range 1000 {
		a.Port = 1000 + i // ports differ, the source does not
		l.Warn(a, "connection rejected", "reason", "per_source_limit")
	}
	l.Warn(b, "connection rejected", "reason", "per_source_limit")
	if got := lines(t, &buf); len(got) != 4 {
		t.Fatalf("%d lines for 1000 refusals of one source and one of another, want 3 + 1:\n%s", len(got), buf.String())
	}
	buf.Reset()
	clock = clock.Add(time.Minute)
	l.Warn(a, "connection rejected", "reason", "per_source_limit")
	got := lines(t, &buf)
	if len(got) != 2 || got[0]["msg"] != "connections refused, not logged" || got[0]["source"] != "10.0.0.1" || got[0]["count"] != float64(997) {
		t.Fatalf("after the interval: %v, want the count of 997 for 10.0.0.1 and the new line", got)
	}
	if got[1]["remote"] != a.String() || got[1]["reason"] != "per_source_limit" {
		t.Fatalf("refusal line %v, want remote and reason", got[1])
	}
}

func TestRefusalLogTracksABoundedNumberOfSources(t *testing.T) {
	var buf bytes.Buffer
	l := NewRefusalLog(slog.New(slog.NewJSONHandler(&buf, nil)), RefusalLogOptions{First: 1})
	for i := range 5000 {
		l.Warn(&net.TCPAddr{IP: net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)), Port: 1}, "connection rejected")
	}
	if n := len(l.sources); n > RefusalLogSources+1 {
		t.Fatalf("%d sources tracked, want at most %d", n, RefusalLogSources+1)
	}
	if got := len(lines(t, &buf)); got != RefusalLogSources+1 {
		t.Fatalf("%d lines for 5000 sources, want %d", got, RefusalLogSources+1)
	}
}

func TestRefusalLogKeysTextRemotesByTheirIPAddress(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(1_700_000_000, 0)
	l := NewRefusalLog(slog.New(slog.NewJSONHandler(&buf, nil)), RefusalLogOptions{First: 2, Summary: "auth: refusals not logged",
		Now: func() time.Time { return clock }})
	for _, remote := range []string{"192.0.2.7:1000", "192.0.2.7:1001", "[::ffff:192.0.2.7]:1002", "192.0.2.7", "not an address", "pipe"} {
		l.WarnRemote(remote, "auth: request refused", "reason", "invalid")
	}
	got := lines(t, &buf)
	if len(got) != 4 || got[0]["remote"] != "192.0.2.7:1000" || got[2]["remote"] != "not an address" || got[3]["remote"] != "pipe" {
		t.Fatalf("lines %v, want the first two of 192.0.2.7 (its mapped and bare forms are the same source) and both remotes without an IP", got)
	}
	buf.Reset()
	clock = clock.Add(time.Minute)
	l.WarnRemote("192.0.2.7:1003", "auth: request refused")
	got = lines(t, &buf)
	if len(got) != 2 || got[0]["msg"] != "auth: refusals not logged" || got[0]["source"] != "192.0.2.7" || got[0]["count"] != float64(2) {
		t.Fatalf("after the interval: %v, want the summary of 2 for 192.0.2.7 under the configured message, then the line", got)
	}
}

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, s := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if s == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		out = append(out, m)
	}
	return out
}
