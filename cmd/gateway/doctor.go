package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hl7gw/gateway/doctor"
	"github.com/hl7gw/gateway/topics"
)

// doctorCmd implements `gateway doctor`: the Kafka connection checked step
// by step (DNS, TCP, TLS, SASL, metadata, each topic, produce permission),
// printed as a table or --json, exit 1 when a step fails. Topics checked are
// the dead-letter topics of the configured connectors and any --topic.
//
// With no brokers configured (the same precedence as serve: flag >
// GATEWAY_* > --config file) it checks the embedded broker a running
// gateway serves at the embedded address (default 127.0.0.1:9092), which
// is what `make run` starts.
func doctorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var asJSON bool
	var extra string
	cfg, err := loadConfig("doctor", args, stdout, stderr, doctorFlag, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
		fs.StringVar(&extra, "topic", "", "comma-separated topics to check besides the dead-letter topics")
	})
	if err != nil {
		return err
	}
	if cfg.Embedded() {
		cfg.Kafka.Brokers = []string{cfg.EmbeddedKafkaAddr}
		fmt.Fprintf(stderr, "gateway doctor: no brokers configured: checking the embedded broker of a running gateway at %s\n", cfg.EmbeddedKafkaAddr)
	}
	names, err := topics.DeadLetterTopics(cfg)
	if err != nil {
		return err
	}
	for _, t := range strings.Split(extra, ",") {
		if t = strings.TrimSpace(t); t != "" {
			names = append(names, t)
		}
	}
	rep := doctor.Run(ctx, cfg.Kafka, names, doctor.Options{})
	if asJSON {
		stdout.Write(rep.JSON())
	} else {
		fmt.Fprint(stdout, rep.Table())
	}
	if rep.Failed() {
		return errFailed
	}
	return nil
}

// doctorFlag reports whether a configuration flag applies to doctor: the
// listen addresses, profiler and logging are serve's alone.
func doctorFlag(name string) bool {
	switch name {
	case "mllp-addr", "http-addr", "grpc-addr", "debug-addr", "log-level", "log-format":
		return false
	}
	return true
}
