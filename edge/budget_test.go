package edge

import (
	"testing"

	"github.com/hl7gw/gateway/config"
)

func TestListenersCountsWhatTheGatewayBinds(t *testing.T) {
	withConnectors := func(extra ...config.Connector) config.Config {
		c := config.Default()
		c.Connectors = append(c.Connectors, extra...)
		return c
	}
	debug := config.Default()
	debug.DebugAddr = "127.0.0.1:6060"
	cases := []struct {
		name string
		cfg  config.Config
		want int
	}{
		{"the default connectors share the HTTP address with /metrics: three listeners", config.Default(), 3},
		{"the profiler is a listener of its own", debug, 4},
		{"a second MLLP connector adds one", withConnectors(config.Connector{Name: "lab", Type: config.TypeHL7MLLP,
			Config: map[string]string{"listen.address": ":2576"}}), 4},
		{"a fhir-rest connector on another address adds one", withConnectors(config.Connector{Name: "fhir2", Type: config.TypeFHIRREST,
			Config: map[string]string{"listen.address": ":8081"}}), 4},
		{"a fhir-rest connector on the shared address adds none", withConnectors(config.Connector{Name: "fhir2", Type: config.TypeFHIRREST}), 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Listeners(tc.cfg); got != tc.want {
				t.Fatalf("Listeners = %d, want %d", got, tc.want)
			}
		})
	}
}
