package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/embedded"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/router"
)

// childProc is a helper process of the run: this binary with one of the
// internal -*-child flags. It prints "ready" once it serves and exits
// when its stdin closes.
type childProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startBrokerProc starts the broker child on addr (the gateway's embedded
// broker code, so that the gateway process's CPU time is the gateway's
// alone and the broker's is measured the same way in both phases) and
// waits until it listens.
func startBrokerProc(addr string) (*childProc, error) {
	return startChild("broker", "-broker-child", "-brokers", addr)
}

// startChild starts this binary with args and waits for its "ready".
func startChild(name string, args ...string) (*childProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("%s process: %w", name, err)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s process: %w", name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s process: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s process: %w", name, err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%s process did not start (%q): %v", name, line, err)
	}
	return &childProc{cmd: cmd, stdin: stdin}, nil
}

// stop ends the child: it exits when its stdin closes.
func (b *childProc) stop() {
	_ = b.stdin.Close()
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
}

// brokerChild is the broker child's main: the embedded broker on addr
// until stdin closes or an interrupt.
func brokerChild(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b, err := embedded.Start(ctx, addr, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	readyUntilStdinCloses(ctx, stop)
	return nil
}

// readyUntilStdinCloses tells the parent the child serves ("ready" on
// stdout, see startChild) and blocks until the parent closes the child's
// stdin or ctx ends (an interrupt); stop ends ctx.
func readyUntilStdinCloses(ctx context.Context, stop context.CancelFunc) {
	fmt.Println("ready")
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	<-ctx.Done()
}

// createTopics creates the topics msgs are routed to, as the embedded
// broker would on first use (a gateway with external brokers does not
// create topics by producing to them), and the default dead-letter topics
// the gateway checks at start; with converted, also the FHIR topics of
// the resources each message converts to.
func createTopics(ctx context.Context, broker string, msgs [][]byte, converted bool) error {
	seen := map[string]bool{}
	names := []string{"hl7.dlq", "fhir.dlq"}
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			names = append(names, t)
		}
	}
	for _, m := range msgs {
		pm, err := hl7.Parse(m)
		if err != nil {
			return err
		}
		t, err := router.HL7Topic("", hl7door.Meta(pm, ""))
		if err != nil {
			return err
		}
		add(t)
		if converted {
			for _, ft := range fhirTopics(pm) {
				add(ft)
			}
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker))
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := kadm.NewClient(cl).CreateTopics(ctx, embedded.DefaultPartitions, 1, nil, names...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	if err := res.Error(); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return nil
}
