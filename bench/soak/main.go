// Command soak is the gateway's soak benchmark against real Apache Kafka:
// many messages (1M by default) over MLLP into a 3-broker cluster, then the
// same messages from a plain franz-go producer to the same cluster, in one
// run. It is not part of `make test` or `make bench`; run it with
//
//	make soak                          # 1M messages, kafka.sh brokers on 19950-19952
//	SOAK_MESSAGES=100000 make soak     # fewer
//	scripts/soak.sh -conns 32 -json /tmp/soak.json
//
// scripts/soak.sh starts the brokers with test/kafka/kafka.sh and stops them
// at the end; this command needs them given with -brokers. It
//
//  1. creates the gateway's data and dead-letter topics and the plain
//     producer's topic, each with -partitions partitions, replication
//     factor 3 and min.insync.replicas 2;
//  2. starts `gateway serve` (-gateway) with one hl7-mllp connector and the
//     default producer settings (acks=all, idempotent);
//  3. samples the gateway process's RSS (/proc/<pid>/status VmRSS) every
//     second until the end, and its Go heap in use (/metrics) every 5s, so
//     that a leak (heap) can be told from freed pages not yet returned to
//     the OS (RSS only);
//  4. sends -warmup messages, then -messages messages over -conns MLLP
//     connections, each connection waiting for its ACK; every message is an
//     ADT^A01 with a unique MSH-10 and one of -patients PID-3 values (so the
//     partition keys spread over the partitions); it records every ACK's
//     code and latency (p50/p99/max);
//  5. waits -settle with the gateway idle and reads the RSS again;
//  6. consumes the gateway's topic (read_committed) and checks THE
//     INVARIANT: every control id answered AA is in Kafka; duplicates and
//     records stored without an AA are counted;
//  7. produces the same messages to its own topic with a plain franz-go
//     client (the gateway's producer settings and partition keys, the same
//     concurrency, each goroutine waiting for its ack) and prints
//     gateway msgs/s ÷ plain msgs/s;
//  8. stops the gateway with SIGTERM.
//
// The two paths run one after the other on a shared machine, so the
// summary also records the load average at the start and end of each.
// It prints a table and writes a JSON summary (-json). It exits 1 when an AA
// has no record, when any answer is not AA, or when a step fails. The
// checker keeps two bytes per message, not the messages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	gateway, template, json string
	brokers                 []string
	messages, warmup, conns int
	patients, partitions    int
	settle, timeout         time.Duration
	checkTimeout            time.Duration
}

func main() {
	var o options
	var brokers string
	flag.StringVar(&o.gateway, "gateway", "bin/gateway", "gateway binary")
	flag.StringVar(&brokers, "brokers", "", "comma-separated bootstrap brokers of a 3-broker cluster (required)")
	flag.StringVar(&o.template, "template", "testdata/corpus/hl7/valid/fhirconv-ADT01-28.hl7", "HL7 message sent (MSH-10 and PID-3.1 rewritten)")
	flag.StringVar(&o.json, "json", "", "write the JSON summary here")
	flag.IntVar(&o.messages, "messages", 1_000_000, "messages sent on each path")
	flag.IntVar(&o.warmup, "warmup", 5000, "messages sent on each path before measuring")
	flag.IntVar(&o.conns, "conns", 16, "MLLP connections, and plain producer goroutines")
	flag.IntVar(&o.patients, "patients", 64, "distinct PID-3 values (partition keys)")
	flag.IntVar(&o.partitions, "partitions", 6, "partitions of each topic")
	flag.DurationVar(&o.settle, "settle", 15*time.Second, "idle pause after the gateway load before the end RSS")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "per-message ACK timeout")
	flag.DurationVar(&o.checkTimeout, "check-timeout", 15*time.Minute, "bound on reading the gateway topic back")
	flag.Parse()
	for _, b := range strings.Split(brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			o.brokers = append(o.brokers, b)
		}
	}
	if len(o.brokers) == 0 || o.messages < 1 || o.conns < 1 || o.warmup < 0 {
		fmt.Fprintln(os.Stderr, "soak: -brokers is required; -messages and -conns must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := run(ctx, o)
	if s != nil {
		s.print(os.Stdout)
		if o.json != "" {
			if werr := s.writeJSON(o.json); werr != nil {
				err = errors.Join(err, werr)
			} else {
				fmt.Printf("summary: %s\n", o.json)
			}
		}
		err = errors.Join(err, s.failure())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// runID is a short id of this run for control ids (MSH-10 of older HL7
// versions holds 20 characters) and topic names, so that a kept cluster
// can be reused.
func runID() string {
	return strconv.FormatInt(time.Now().Unix()%(36*36*36*36), 36)
}
