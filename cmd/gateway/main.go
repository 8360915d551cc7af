// Command gateway is the HL7 v2 / FHIR ingestion gateway: MLLP, FHIR REST
// and gRPC front doors publishing to Kafka.
//
//	gateway [serve] [flags]                  run the gateway (the default command)
//	gateway send ADDR FILE... [load flags]   send HL7 files over MLLP, print each ACK
//	gateway validate --format hl7|fhir [--strict] FILE...
//	gateway doctor [flags]                   check the Kafka connection step by step
//	gateway hash-key [NAME SCOPES]           hash an API key read from standard input
//	gateway version
//
// This package only wires: configuration, logging and the packages along
// the data path.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// errUsage marks command-line mistakes (exit code 2).
var errUsage = errors.New("usage")

// errFailed marks a command that ran and found problems (exit code 1)
// after printing them.
var errFailed = errors.New("failed")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the process exit code: 0 on
// success, 1 when the command failed, 2 on a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCmd(ctx, args, stderr)
	case "send":
		err = sendCmd(ctx, args, stdout, stderr)
	case "validate":
		err = validateCmd(ctx, args, stdout, stderr)
	case "doctor":
		err = doctorCmd(ctx, args, stdout, stderr)
	case "hash-key":
		err = hashKeyCmd(args, os.Stdin, stdout)
	case "version":
		fmt.Fprintln(stdout, "gateway", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "gateway: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "gateway %s: %v\n", cmd, err)
		return 2
	case errors.Is(err, errFailed):
		return 1
	default:
		fmt.Fprintf(stderr, "gateway %s: %v\n", cmd, err)
		return 1
	}
}

const usage = `Usage:
  gateway [serve] [--config FILE] [--mllp-addr ADDR] [--http-addr ADDR] [--grpc-addr ADDR]
                  [--kafka-brokers LIST] [--embedded-kafka-addr ADDR]
      Run the gateway. With no brokers configured an embedded Kafka-protocol
      broker listens on 127.0.0.1:9092. Every flag can also be set as
      GATEWAY_<FLAG> (GATEWAY_KAFKA_BROKERS=...).
  gateway send ADDR FILE... [--connections N] [--count N | --duration D] [--rate R]
      Send HL7 files over MLLP and print each ACK; with load options, a load
      generator printing msgs/s and ACK latency percentiles.
  gateway validate --format hl7|fhir [--strict] [--profile FILE] FILE...
      Validate files offline: PATH<TAB>OK|ERROR<TAB>reason, exit 1 on any ERROR.
  gateway doctor [--config FILE] [--kafka-brokers LIST] [--json]
      Check DNS, TCP, TLS, SASL, metadata, topics and produce permission.
  gateway hash-key [NAME SCOPE[,SCOPE...]] < key
      Print the SHA-256 hash of the API key on standard input (or, with a name
      and scopes, a whole line for auth.api.keys.file). The key never appears
      in the output.
  gateway version
`
