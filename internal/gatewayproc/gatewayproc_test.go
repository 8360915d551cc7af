package gatewayproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFreePortsAreDistinctLoopbackAddresses(t *testing.T) {
	addrs, err := FreePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			t.Fatalf("%s reserved twice in %v", a, addrs)
		}
		seen[a] = true
		if !strings.HasPrefix(a, "127.0.0.1:") {
			t.Fatalf("%s is not a loopback address", a)
		}
	}
}

func TestModuleRootHoldsTheGatewayCommand(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "gateway")); err != nil {
		t.Fatalf("module root %s has no cmd/gateway: %v", root, err)
	}
}

func TestANilOrUnstartedProcStopsAndHasNoOutput(t *testing.T) {
	var p *Proc
	if !p.Stop() || p.Tail(10) != "" {
		t.Fatal("a nil Proc must stop cleanly and have no output")
	}
	if !(&Proc{}).Stop() {
		t.Fatal("an unstarted Proc must stop cleanly")
	}
}
