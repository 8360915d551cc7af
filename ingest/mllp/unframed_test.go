package mllp

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/logbuf"
)

func TestUnframedBytesAreLoggedWithoutTheirContentAndRateLimited(t *testing.T) {
	logs := &logbuf.Buffer{}
	ts := startServer(t, ServerConfig{Logger: slog.New(slog.NewJSONHandler(logs, nil))}, echo)
	c := dialClient(t, ts.addr)
	for _, junk := range []string{"PID|SECRET-NAME\n", "more junk"} {
		if _, err := io.WriteString(c.nc, junk); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(context.Background(), []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "mllp bytes outside a frame discarded"); n != 1 {
		t.Fatalf("%d log lines about unframed bytes, want 1 (the second within the interval is held back):\n%s", n, out)
	}
	if !strings.Contains(out, `"bytes":16`) || !strings.Contains(out, `"remote":"`+c.LocalAddr().String()+`"`) {
		t.Fatalf("the line lacks the byte count or the remote address:\n%s", out)
	}
	if strings.Contains(out, "SECRET") {
		t.Fatalf("the log holds the discarded bytes:\n%s", out)
	}
	if got := value(ts.m.discarded.WithLabelValues("test")); got != 16+9 {
		t.Fatalf("discarded_bytes_total = %v, want 25: every byte counts, logged or not", got)
	}
}

func TestLogLimiterReportsWhatItHeldBack(t *testing.T) {
	var l logLimiter
	t0 := time.Unix(1000, 0)
	steps := []struct {
		name         string
		at           time.Duration
		n            int64
		ok           bool
		events, size int64
	}{
		{"the first event is logged", 0, 5, true, 0, 0},
		{"an event within the interval is held back", 10 * time.Second, 7, false, 0, 0},
		{"another is held back too", 20 * time.Second, 1, false, 0, 0},
		{"after the interval the next is logged with the held-back counts", 61 * time.Second, 3, true, 2, 8},
		{"and the counts start again", 122 * time.Second, 3, true, 0, 0},
	}
	for _, s := range steps {
		ok, events, size := l.allow(t0.Add(s.at), s.n, time.Minute)
		if ok != s.ok || events != s.events || size != s.size {
			t.Fatalf("%s: allow = %v %d %d, want %v %d %d", s.name, ok, events, size, s.ok, s.events, s.size)
		}
	}
}
