package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hl7gw/gateway/loadgen"
)

// scaleOut measures issue 17's figure: the aggregate MLLP rate of 1, 2, 3...
// gateway processes on one broker, as a ratio to one instance, with the
// gateways' CPU per message. conns connections in total are spread evenly
// over the instances (as a TCP load balancer would), so every row offers the
// same load and only the number of gateway processes changes. The broker is
// the gateway's embedded broker code in a process of its own, as in the
// single-gateway benchmark.
func scaleOut(bin, glob string, dur time.Duration, instances string, conns int) error {
	msgs, err := loadMessages(glob)
	if err != nil {
		return err
	}
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	kafkaAddr := "127.0.0.1:" + ports[0]
	bp, err := startBrokerProc(kafkaAddr)
	if err != nil {
		return err
	}
	defer bp.stop()
	if err := createTopics(context.Background(), kafkaAddr, msgs, false); err != nil {
		return err
	}
	fmt.Printf("scale-out: %d distinct payloads, %d MLLP connections in all, %s per measurement, one broker process\n", len(msgs), conns, dur)
	fmt.Printf("%-9s %12s %8s %10s %10s %14s %10s\n", "instances", "msgs/s", "ratio", "p50", "p99", "gw cpu µs/msg", "broker")
	var base float64
	for _, f := range strings.Split(instances, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad instance count %q", f)
		}
		r, err := measureInstances(bin, kafkaAddr, bp.cmd.Process.Pid, msgs, n, conns, dur)
		if err != nil {
			return err
		}
		if base == 0 {
			base = r.rate
		}
		fmt.Printf("%-9d %12.0f %8.2f %10s %10s %14.1f %10.1f\n", n, r.rate, r.rate/base,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.gwCPU, r.brokerCPU)
	}
	return nil
}

type scaleResult struct {
	rate             float64
	p50, p99         time.Duration
	gwCPU, brokerCPU float64 // µs per message
}

// measureInstances starts n gateways on kafkaAddr, loads them with conns
// connections for dur, stops them and reports the aggregate.
func measureInstances(bin, kafkaAddr string, brokerPid int, msgs [][]byte, n, conns int, dur time.Duration) (scaleResult, error) {
	gws := make([]*exec.Cmd, 0, n)
	addrs := make([]string, 0, n)
	defer func() {
		for _, c := range gws {
			_ = c.Process.Signal(os.Interrupt)
			_ = c.Wait()
		}
	}()
	for i := range n {
		ports, err := freePorts(3)
		if err != nil {
			return scaleResult{}, err
		}
		c := exec.Command(bin, "serve", "--mllp-addr", "127.0.0.1:"+ports[0], "--http-addr", "127.0.0.1:"+ports[1],
			"--grpc-addr", "127.0.0.1:"+ports[2], "--kafka-brokers", kafkaAddr, "--log-level", "error",
			"--instance-id", fmt.Sprintf("bench-%d-of-%d", i+1, n))
		c.Stderr = os.Stderr
		if err := c.Start(); err != nil {
			return scaleResult{}, fmt.Errorf("start gateway %d: %w", i+1, err)
		}
		gws = append(gws, c)
		if err := waitReady("http://127.0.0.1:"+ports[1]+"/readyz", 60*time.Second); err != nil {
			return scaleResult{}, fmt.Errorf("gateway %d: %w", i+1, err)
		}
		addrs = append(addrs, "127.0.0.1:"+ports[0])
	}
	for i, a := range addrs { // warm up: topics and metadata on every instance
		if _, err := loadgen.Run(context.Background(), loadgen.Options{Addr: a, Messages: msgs, Connections: 1,
			Count: len(msgs), UniqueControlIDs: true, ControlIDPrefix: fmt.Sprintf("W%d", i)}); err != nil {
			return scaleResult{}, fmt.Errorf("warm-up of gateway %d: %w", i+1, err)
		}
	}
	cpu := func() (gw, broker time.Duration, err error) {
		for _, c := range gws {
			d, err := procCPU(c.Process.Pid)
			if err != nil {
				return 0, 0, err
			}
			gw += d
		}
		broker, err = procCPU(brokerPid)
		return gw, broker, err
	}
	gw0, br0, err := cpu()
	if err != nil {
		return scaleResult{}, err
	}
	reps, err := loadAll(addrs, msgs, conns, dur)
	if err != nil {
		return scaleResult{}, err
	}
	gw1, br1, err := cpu()
	if err != nil {
		return scaleResult{}, err
	}
	var r scaleResult
	var sent int64
	for _, rep := range reps {
		r.rate += rep.MsgsPerSec
		sent += int64(rep.Answered + rep.Silent)
		r.p50 = max(r.p50, rep.P50) // the slowest instance's median: what a sender behind the balancer may see
		r.p99 = max(r.p99, rep.P99)
	}
	r.gwCPU, r.brokerCPU = perMsg(gw1-gw0, sent), perMsg(br1-br0, sent)
	return r, nil
}

// loadAll runs one load generator per address at once, conns connections in
// all spread evenly, and returns their reports. Any message not accepted
// is an error: a scale-out figure is only worth it when nothing was lost.
func loadAll(addrs []string, msgs [][]byte, conns int, dur time.Duration) ([]loadgen.Report, error) {
	reps := make([]loadgen.Report, len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		c := conns / len(addrs)
		if i < conns%len(addrs) {
			c++
		}
		wg.Go(func() {
			reps[i], errs[i] = loadgen.Run(context.Background(), loadgen.Options{Addr: a, Messages: msgs,
				Connections: max(c, 1), Duration: dur, UniqueControlIDs: true, ControlIDPrefix: fmt.Sprintf("S%d", i)})
			if errs[i] == nil && reps[i].NotAccepted() > 0 {
				errs[i] = fmt.Errorf("gateway %d: %d of %d messages not accepted", i+1, reps[i].NotAccepted(), reps[i].Sent)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return reps, nil
}
