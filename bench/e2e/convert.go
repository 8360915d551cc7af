package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/hl7/v2fhir"
	"github.com/hl7gw/gateway/router"
)

// convertTypes reads -convert: a comma list of MSH-9 types the converter
// converts, nil for none.
func convertTypes(list string) ([]string, error) {
	var types []string
	supported := v2fhir.Supported()
	for _, t := range strings.Split(list, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !slices.Contains(supported, t) {
			slices.Sort(supported)
			return nil, fmt.Errorf("-convert: %q is not converted to FHIR (one of %s)", t, strings.Join(supported, ", "))
		}
		types = append(types, t)
	}
	return types, nil
}

// onlyTypes keeps the messages whose MSH-9 type is one of types.
func onlyTypes(msgs [][]byte, types []string) ([][]byte, error) {
	var out [][]byte
	for _, m := range msgs {
		pm, err := hl7.Parse(m)
		if err != nil {
			continue
		}
		h := pm.Header()
		if slices.Contains(types, h.MessageType+"^"+h.TriggerEvent) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-convert %s: no message of those types among the messages", strings.Join(types, ","))
	}
	return out, nil
}

// runMessages are the payloads every process of a run sends or knows:
// the files of glob (see loadMessages) and, with -convert, only those of
// the types converted, which it also returns (nil without -convert).
func runMessages(glob, convert string) ([][]byte, []string, error) {
	msgs, err := loadMessages(glob)
	if err != nil {
		return nil, nil, err
	}
	types, err := convertTypes(convert)
	if err != nil || types == nil {
		return msgs, nil, err
	}
	msgs, err = onlyTypes(msgs, types)
	return msgs, types, err
}

// fhirTopics are the topics of the resources m converts to (none when it
// cannot be converted: it then goes to fhir.dlq).
func fhirTopics(m *hl7.Message) []string {
	res, err := v2fhir.Convert(m, v2fhir.Options{})
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range res.Entries {
		op := map[v2fhir.Op]string{v2fhir.Created: "create", v2fhir.Updated: "update", v2fhir.Deleted: "delete"}[e.Op]
		if t, err := router.FHIRTopic("", router.FHIRMeta{ResourceType: e.Type, Action: op}); err == nil {
			out = append(out, t)
		}
	}
	return out
}

// gatewayProc is one `gateway serve` of the comparison, on the broker
// given to start; convert, when set, turns on hl7.fhir.convert for those
// types.
type gatewayProc struct {
	name     string
	convert  []string
	cmd      *exec.Cmd
	mllpAddr string
	dir      string
	child    *childProc // the relay: a child of this binary, not a gateway
}

// start runs the gateway with its own ports and instance id (two
// gateways on one broker need their own transactional ids) and waits until
// it is ready.
func (g *gatewayProc) start(bin, brokerFlag, kafkaAddr, debugAddr string) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	g.mllpAddr = "127.0.0.1:" + ports[0]
	httpAddr := "127.0.0.1:" + ports[1]
	args := []string{"serve", "--mllp-addr", g.mllpAddr, "--http-addr", httpAddr,
		"--grpc-addr", "127.0.0.1:" + ports[2], brokerFlag, kafkaAddr, "--log-level", "warn",
		"--instance-id", "e2e-" + strings.ReplaceAll(g.name, "+", "-")}
	if debugAddr != "" {
		args = append(args, "--debug-addr", debugAddr)
	}
	if g.convert != nil {
		// One MLLP connector converting the types; the HTTP listener
		// still serves /readyz.
		if g.dir, err = os.MkdirTemp("", "e2e-conv-"); err != nil {
			return err
		}
		cfg := fmt.Sprintf("connectors:\n  - name: hl7-mllp\n    type: hl7-mllp\n    config:\n      hl7.fhir.convert: [%s]\n",
			strings.Join(g.convert, ", "))
		path := filepath.Join(g.dir, "gateway.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			return err
		}
		args = append(args, "--config", path)
	}
	g.cmd = exec.Command(bin, args...)
	g.cmd.Stderr = os.Stderr
	if err := g.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", g.name, err)
	}
	if err := waitReady("http://"+httpAddr+"/readyz", 30*time.Second); err != nil {
		return fmt.Errorf("%s: %w", g.name, err)
	}
	return nil
}

// stop interrupts the gateway and waits for it.
func (g *gatewayProc) stop() {
	if g.child != nil {
		g.child.stop()
		return
	}
	if g.cmd != nil && g.cmd.Process != nil {
		_ = g.cmd.Process.Signal(os.Interrupt)
		_ = g.cmd.Wait()
	}
	if g.dir != "" {
		_ = os.RemoveAll(g.dir)
	}
}
