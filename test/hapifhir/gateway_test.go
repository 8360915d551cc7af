package hapifhir

import (
	"context"
	"testing"

	"github.com/hl7gw/gateway/internal/gatewayproc"
)

// startGateway builds ./cmd/gateway into t.TempDir() and runs it with the
// embedded broker until the test ends, waiting until /readyz answers 200.
func startGateway(t *testing.T) *gatewayproc.Proc {
	t.Helper()
	dir := t.TempDir()
	bin, err := gatewayproc.Build(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gatewayproc.Start(bin, gatewayproc.Options{Dir: dir})
	t.Cleanup(func() {
		if !g.Stop() {
			t.Errorf("gateway did not stop on SIGTERM; output:\n%s", g.Tail(8000))
		}
	})
	if err != nil {
		t.Fatalf("%v; output:\n%s", err, g.Tail(8000))
	}
	return g
}
