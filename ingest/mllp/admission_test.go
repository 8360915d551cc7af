package mllp

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/edge/netallow"
	"github.com/hl7gw/gateway/internal/logbuf"
	"github.com/hl7gw/gateway/internal/testwait"
)

func TestRefusedConnectionsAreAllCountedButOnlyTheFirstFewLogged(t *testing.T) {
	noLeaks(t)
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	ts := startAdmitted(t, netallow.AdmissionOptions{MaxConnsPerSource: 1, Log: log, LogMessage: "mllp connection rejected"}, ServerConfig{Logger: log}, echo)
	c1 := dialClient(t, ts.addr)
	if _, err := c1.Send(context.Background(), []byte("m")); err != nil {
		t.Fatal(err)
	}
	const refused = 40
	for range refused {
		expectClosed(t, dialRaw(t, ts.addr))
	}
	testwait.For(t, 5*time.Second, "every refusal counted", func() bool { return ts.rejected(netallow.RejectPerSourceLimit) == refused })
	if n := strings.Count(logs.String(), "mllp connection rejected"); n == 0 || n > 5 {
		t.Fatalf("%d log lines for %d refusals of one source, want 1 to 5", n, refused)
	}
	c1.Close()
}
