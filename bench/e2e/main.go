// Command e2e measures the gateway end to end beside a plain franz-go
// producer, in one run on one machine:
//
//  1. it starts `gateway serve` (the binary named by -gateway) with its
//     embedded broker on free loopback ports;
//  2. for each concurrency (1, 8, 64 by default) it sends HL7 messages over
//     MLLP with the load generator, each connection waiting for its ACK,
//     after one warm-up pass (so every topic exists on both paths),
//     and records msgs/s and ACK latency percentiles;
//  3. with the same concurrency, payloads, topics, acks=all and producer
//     settings it produces the same payloads straight to the same broker, each
//     goroutine waiting for its produce to be acknowledged;
//  4. it prints both and the ratio gateway/plain, and beside the rates the
//     CPU time per message of each process: the gateway's (from
//     /proc/<pid>/stat, sampled before and after each phase) and the plain
//     producer's, which runs in a child process of its own (this binary
//     with -plain-child) and measures its rusage over the phase only. On a
//     shared machine the CPU ratio holds where the rate ratio drifts with
//     the neighbours' load.
//
// Each concurrency also measures the relay (relay.go, -relay=false leaves
// it out): the gateway's MLLP server and producer settings with no
// pipeline, the floor under the gateway's row.
//
// With -convert TYPES a second gateway converts those message types to
// FHIR in the stream (hl7.fhir.convert: each message and its resources in
// one Kafka transaction); only messages of those types are sent, and each
// concurrency gets a row gw+conv, measured the same way, with its ratio to
// plain and to the gateway without conversion (conv/off), and a row
// relay+conv (convrelay.go): the converting gateway's records, computed
// once at start, published as it publishes them (rconv/off).
//
// The gateway, the broker and this process share the machine, as they do
// in the comparison's plain half (broker and producer).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/loadgen"
	"github.com/hl7gw/gateway/router"
)

func main() {
	bin := flag.String("gateway", "bin/gateway", "gateway binary")
	glob := flag.String("messages", "testdata/corpus/hl7/valid/*.hl7", "HL7 files to send (batches and messages whose MSH-15 asks for no ACK are left out)")
	dur := flag.Duration("duration", 8*time.Second, "duration of each measurement")
	concs := flag.String("connections", "1,8,64", "concurrency levels")
	debugAddr := flag.String("debug-addr", "", "passed to the gateway: serve its profiler (/debug/pprof/) here; with -convert a comma list, the second address for the converting gateway (\",127.0.0.1:6061\" profiles only it)")
	child := flag.Bool("plain-child", false, "internal: run the plain producer phase in this process and print its result")
	brokers := flag.String("brokers", "", "internal (-plain-child, -broker-child): the broker's address")
	brokerChildFlag := flag.Bool("broker-child", false, "internal: run the broker in this process")
	instances := flag.String("instances", "", "scale-out mode: measure this many gateway instances on one broker (e.g. 1,2,3), -scale-connections MLLP connections spread over them")
	scaleConns := flag.Int("scale-connections", 24, "scale-out mode: MLLP connections in all")
	embeddedFlag := flag.Bool("embedded", false, "run the broker inside the gateway process (its embedded broker) instead of in a process of its own; the gateway's CPU figures then include the broker's")
	relay := flag.Bool("relay", true, "also measure the relay (bench/e2e/relay.go): the gateway's MLLP server and producer settings with no pipeline, the floor under the gateway's row; not with -embedded")
	relayChildFlag := flag.Bool("relay-child", false, "internal: run the relay in this process")
	relayAddr := flag.String("relay-addr", "", "internal (-relay-child): the relay's MLLP address")
	relayConv := flag.Bool("relay-conv", false, "internal (-relay-child): the converting relay (with -convert)")
	convert := flag.String("convert", "", "comma list of MSH-9 types (ADT^A01,ORU^R01): send only those, and measure a second gateway that converts them to FHIR (hl7.fhir.convert) beside the first")
	flag.Parse()
	var err error
	switch {
	case *brokerChildFlag:
		err = brokerChild(*brokers)
	case *relayChildFlag:
		err = relayChild(*brokers, *relayAddr, *glob, *convert, *relayConv)
	case *child:
		n, cerr := strconv.Atoi(*concs)
		if cerr != nil {
			err = fmt.Errorf("bad concurrency %q", *concs)
		} else {
			err = plainChild(*brokers, *glob, *convert, n, *dur)
		}
	case *instances != "":
		err = scaleOut(*bin, *glob, *dur, *instances, *scaleConns)
	default:
		err = run(*bin, *glob, *dur, *concs, *debugAddr, *embeddedFlag, *relay, *convert)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

func run(bin, glob string, dur time.Duration, concs, debugAddr string, embeddedBroker, relay bool, convert string) error {
	msgs, types, err := runMessages(glob, convert)
	if err != nil {
		return err
	}
	if types != nil {
		if embeddedBroker {
			return fmt.Errorf("-convert needs the broker in a process of its own (no -embedded): two gateways share it")
		}
	}
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	kafkaAddr := "127.0.0.1:" + ports[0]
	brokerFlag, brokerPid, where := "--embedded-kafka-addr", 0, "embedded (kfake) in the gateway process"
	if !embeddedBroker {
		bp, err := startBrokerProc(kafkaAddr)
		if err != nil {
			return err
		}
		defer bp.stop()
		if err := createTopics(context.Background(), kafkaAddr, msgs, types != nil); err != nil {
			return err
		}
		brokerFlag, brokerPid, where = "--kafka-brokers", bp.cmd.Process.Pid, "the gateway's embedded broker code (kfake) in a process of its own"
	}
	gws := []*gatewayProc{{name: "gateway"}}
	if types != nil {
		gws = append(gws, &gatewayProc{name: "gw+conv", convert: types})
	}
	for i, g := range gws {
		// -debug-addr a,b: the i-th address for the i-th gateway (the
		// converting one second), so either can be profiled.
		dbg := ""
		if addrs := strings.Split(debugAddr, ","); i < len(addrs) {
			dbg = strings.TrimSpace(addrs[i])
		}
		if err := g.start(bin, brokerFlag, kafkaAddr, dbg); err != nil {
			return err
		}
		defer g.stop()
		// Warm up: one pass so that every topic exists and metadata is
		// cached on both paths before anything is measured.
		if _, err := loadgen.Run(context.Background(), loadgen.Options{Addr: g.mllpAddr, Messages: msgs, Connections: 1,
			Count: len(msgs), UniqueControlIDs: true, ControlIDPrefix: "WARM"}); err != nil {
			return fmt.Errorf("%s warm-up: %w", g.name, err)
		}
	}
	if relay && !embeddedBroker {
		convs := []bool{false}
		if types != nil {
			convs = append(convs, true)
		}
		for _, conv := range convs {
			r, err := startRelay(kafkaAddr, glob, convert, conv)
			if err != nil {
				return err
			}
			defer r.stop()
			if _, err := loadgen.Run(context.Background(), loadgen.Options{Addr: r.mllpAddr, Messages: msgs, Connections: 1,
				Count: len(msgs), UniqueControlIDs: true, ControlIDPrefix: "WARM"}); err != nil {
				return fmt.Errorf("%s warm-up: %w", r.name, err)
			}
			gws = append(gws, r)
		}
	}
	fmt.Printf("e2e: %d distinct payloads, %s per measurement, broker: %s\n", len(msgs), dur, where)
	if types != nil {
		fmt.Printf("gw+conv: a second gateway converting %s to FHIR R4 in the stream, each message with its resources in one Kafka transaction\n",
			strings.Join(types, ", "))
	}
	fmt.Printf("cpu µs/msg: proc = the gateway process (MLLP, pipeline, producer) on the gateway row, the plain\n" +
		"producer's own process on the plain row, the relay's on the relay row; broker = the broker's process\n" +
		"during that phase (with -embedded: the gateway process while the plain producer runs); sender = the\n" +
		"MLLP load generator. relay = the gateway's MLLP server and producer settings with no pipeline\n" +
		"(bench/e2e/relay.go): relay/plain is what the MLLP hop costs, gw/relay what the gateway's work does;\n" +
		"with -convert, relay+conv publishes the records the converting gateway makes, computed once at start\n" +
		"(bench/e2e/convrelay.go): rconv/off is conv/off with parsing, validating and converting free\n")
	fmt.Printf("%-6s %-8s %12s %10s %10s %10s %9s %9s %9s\n", "conns", "path", "msgs/s", "p50", "p99", "max", "proc", "broker", "sender")
	for _, f := range strings.Split(concs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("bad concurrency %q", f)
		}
		if err := measure(context.Background(), gws, brokerPid, kafkaAddr, glob, convert, msgs, n, dur); err != nil {
			return err
		}
	}
	return nil
}

// procs are the processes whose CPU time is sampled around each phase;
// broker is 0 when the broker is embedded in the gateway.
type procs struct{ gateway, broker int }

// cpuSample is the CPU time used so far by each measured process.
type cpuSample struct{ gateway, broker, self time.Duration }

func (p procs) sample() (cpuSample, error) {
	var s cpuSample
	var err error
	if s.gateway, err = procCPU(p.gateway); err != nil {
		return s, err
	}
	if p.broker != 0 {
		if s.broker, err = procCPU(p.broker); err != nil {
			return s, err
		}
	}
	s.self = selfCPU()
	return s, nil
}

// gatewayRow is what one gateway's phase measured.
type gatewayRow struct {
	name        string
	rate        float64
	cpu, broker float64 // µs per message
}

// measure runs one concurrency level on every gateway and the plain
// producer and prints their rows: rates, latencies and CPU time per
// message of each process involved, then the ratios.
func measure(ctx context.Context, gws []*gatewayProc, brokerPid int, kafkaAddr, glob, convert string, msgs [][]byte, n int, dur time.Duration) error {
	var rows []gatewayRow
	for _, g := range gws {
		row, err := measureGateway(ctx, g, brokerPid, msgs, n, dur)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	p := procs{gateway: gws[0].cmd.Process.Pid, broker: brokerPid}
	s2, err := p.sample()
	if err != nil {
		return err
	}
	plain, err := runPlainChild(ctx, kafkaAddr, glob, convert, n, dur)
	if err != nil {
		return fmt.Errorf("plain producer: %w", err)
	}
	s3, err := p.sample()
	if err != nil {
		return err
	}
	brokerPlain := s3.broker - s2.broker
	if p.broker == 0 {
		brokerPlain = s3.gateway - s2.gateway // the embedded broker, gateway idle
	}
	prodCPU, brokerCPU := perMsg(plain.CPU, plain.Count), perMsg(brokerPlain, plain.Count)
	fmt.Printf("%-6d %-8s %12.0f %10s %10s %10s %9.1f %9.1f %9s\n", n, "plain", plain.Rate, plain.P50, plain.P99, plain.Max,
		prodCPU, brokerCPU, "-")
	for _, r := range rows {
		label := "ratio"
		switch {
		case r.name == "relay":
			label = "relay"
		case r.name == "relay+conv":
			label = "rconv"
		case r.name != "gateway":
			label = "ratio:" + strings.TrimPrefix(r.name, "gw+")
		}
		if p.broker != 0 {
			// cpu: the gateway process against the plain producer's;
			// with-broker adds each phase's broker time to both sides.
			fmt.Printf("%-6d %-8s %12.2f   cpu %.2f   with-broker %.2f\n", n, label, r.rate/plain.Rate,
				r.cpu/prodCPU, (r.cpu+r.broker)/(prodCPU+brokerCPU))
			continue
		}
		// Embedded: cpu compares the gateway process with the plain
		// producer and the broker it drives (both include the broker's
		// work); cpu-no-broker takes the broker's figure off the
		// gateway's, an estimate since the broker's cost per message
		// depends on batching.
		fmt.Printf("%-6d %-8s %12.2f   cpu %.2f   cpu-no-broker %.2f\n", n, label, r.rate/plain.Rate,
			r.cpu/(prodCPU+brokerCPU), (r.cpu-brokerCPU)/prodCPU)
	}
	// The gateway against the relay (what its own work costs), and with
	// -convert each one converting against itself not converting (the
	// rate with conversion over the rate without, the plain rate
	// cancelling out, and the CPU per message with over without, alone and
	// with the broker's).
	byName := make(map[string]gatewayRow, len(rows))
	for _, r := range rows {
		byName[r.name] = r
	}
	for _, c := range []struct{ label, num, den string }{
		{"gw/relay", "gateway", "relay"},
		{"conv/off", "gw+conv", "gateway"},
		{"rconv/off", "relay+conv", "relay"},
	} {
		num, ok1 := byName[c.num]
		den, ok2 := byName[c.den]
		if !ok1 || !ok2 {
			continue
		}
		fmt.Printf("%-6d %-8s %12.2f   cpu %.2f   with-broker %.2f\n", n, c.label, num.rate/den.rate,
			num.cpu/den.cpu, (num.cpu+num.broker)/(den.cpu+den.broker))
	}
	return nil
}

// measureGateway runs one concurrency level against g and prints its row.
func measureGateway(ctx context.Context, g *gatewayProc, brokerPid int, msgs [][]byte, n int, dur time.Duration) (gatewayRow, error) {
	p := procs{gateway: g.cmd.Process.Pid, broker: brokerPid}
	s0, err := p.sample()
	if err != nil {
		return gatewayRow{}, err
	}
	rep, err := loadgen.Run(ctx, loadgen.Options{Addr: g.mllpAddr, Messages: msgs, Connections: n, Duration: dur,
		UniqueControlIDs: true, ControlIDPrefix: "E2E" + strconv.Itoa(n)})
	if err != nil {
		return gatewayRow{}, fmt.Errorf("%s load: %w", g.name, err)
	}
	s1, err := p.sample()
	if err != nil {
		return gatewayRow{}, err
	}
	if rep.Codes["AA"]+rep.Codes["CA"] != rep.Answered || rep.Errors > 0 {
		return gatewayRow{}, fmt.Errorf("%s answered %s, not only AA/CA", g.name, rep)
	}
	done := int64(rep.Answered + rep.Silent)
	gwCPU, gwBroker := perMsg(s1.gateway-s0.gateway, done), perMsg(s1.broker-s0.broker, done)
	brokerCol := "-"
	if p.broker != 0 {
		brokerCol = fmt.Sprintf("%.1f", gwBroker)
	}
	fmt.Printf("%-6d %-8s %12.0f %10s %10s %10s %9.1f %9s %9.1f\n", n, g.name, rep.MsgsPerSec, rep.P50, rep.P99, rep.Max,
		gwCPU, brokerCol, perMsg(s1.self-s0.self, done))
	fmt.Printf("       (%s)\n", rep)
	return gatewayRow{name: g.name, rate: rep.MsgsPerSec, cpu: gwCPU, broker: gwBroker}, nil
}

func loadMessages(glob string) ([][]byte, error) {
	files, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	var msgs [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if hl7.IsBatch(b) {
			continue
		}
		m, err := hl7.Parse(b)
		if err != nil {
			continue
		}
		if a := m.Header().AcceptAckType; a != "" && a != "AL" {
			continue // the sender asked for no accept ACK: nothing to wait for
		}
		if _, err := router.HL7Topic("", hl7door.Meta(m, "")); err != nil {
			continue // no topic can be named after its MSH-9: a DLQ case, not the happy path
		}
		msgs = append(msgs, b)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("no parseable HL7 messages match %s", glob)
	}
	return msgs, nil
}

func freePorts(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return out, nil
}

func waitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("gateway not ready at %s after %s", url, timeout)
}
