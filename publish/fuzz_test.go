package publish

import (
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// FuzzInspectProduced feeds franz-go "produced" debug lines to the parser
// that extracts broker error codes; it must never panic and must only
// record errors kerr knows.
func FuzzInspectProduced(f *testing.F) {
	f.Add("t[0{retrying@0,1(NOT_ENOUGH_REPLICAS: Messages are rejected.)}]")
	f.Add("a.b[1{0=>12}, 2{retrying@3,4(REQUEST_TIMED_OUT: The request timed out.)}], c[0{0=>1}]")
	f.Fuzz(func(t *testing.T, to string) {
		var codes []string
		b := newBrokerErrors(slog.New(slog.DiscardHandler), func(c string) { codes = append(codes, c) })
		b.Log(kgo.LogLevelDebug, "produced", "broker", "0", "to", to)
		for _, c := range codes {
			if kerrByName(c) == nil {
				t.Fatalf("recorded unknown code %q", c)
			}
		}
	})
}
