// Command gateway is the HL7 v2 / FHIR ingestion gateway: MLLP, FHIR REST
// and gRPC front doors publishing to Kafka.
//
//	gateway [serve] [flags]                  run the gateway (the default command)
//	gateway send ADDR FILE... [load flags]   send HL7 files over MLLP, print each ACK
//	gateway validate --format hl7|fhir [--lenient] FILE...
//	gateway convert [-compact] FILE...        HL7 v2 to FHIR R4 transaction Bundles
//	gateway doctor [flags]                   check the Kafka connection step by step
//	gateway hash-key [NAME SCOPES]           hash an API key read from standard input
//	gateway version                          module version and VCS revision
//	gateway help [COMMAND]                   this list, or a command's flags
//
// This package only wires: configuration, logging and the packages along
// the data path.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

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

// command is one subcommand's help: a one-line summary, its synopsis and
// description.
type command struct{ name, summary, synopsis, about string }

var commands = []command{
	{"serve", "run the gateway (the default command)", "gateway [serve] [flags]",
		"Run the gateway (the default command). With no brokers configured an embedded\n" +
			"Kafka-protocol broker listens on 127.0.0.1:9092. Every flag can also be set as\n" +
			"GATEWAY_<FLAG> (GATEWAY_KAFKA_BROKERS=...); flags win over the environment,\n" +
			"the environment over the --config file."},
	{"send", "send HL7 files over MLLP; with load flags, the load generator", "gateway send ADDR FILE... [flags]",
		"Send HL7 files over MLLP and print each answer's MSA and ERR segments; with\n" +
			"--connections, --count, --duration or --rate, a load generator printing progress\n" +
			"each second (stderr) and msgs/s and ACK latency percentiles. Each message waits\n" +
			"only for the answer its MSH-15 promises: NE none, ER one only on error (no answer\n" +
			"within --no-answer-wait counts as accepted), SU one only on success, AL or empty\n" +
			"always. Exit 1 if any message was not accepted."},
	{"validate", "validate HL7 or FHIR files offline", "gateway validate --format hl7|fhir [flags] FILE...",
		"Validate files offline: PATH<TAB>OK|ERROR<TAB>reason per file, exit 1 on any ERROR.\n" +
			"FHIR is strict by default, as the server (--lenient turns warnings back on);\n" +
			"HL7 is lenient by default, as the server (--strict)."},
	{"convert", "convert HL7 v2 files to FHIR R4 transaction Bundles", "gateway convert [-compact] [-sender S] [-zone TZ] FILE...", convertAbout},
	{"doctor", "check the Kafka connection step by step", "gateway doctor [flags]",
		"Check the Kafka connection step by step: DNS, TCP, TLS, SASL, metadata, topics,\n" +
			"produce permission. With no brokers configured (flag > GATEWAY_* > --config file,\n" +
			"as serve) it checks the embedded broker of a running gateway at\n" +
			"--embedded-kafka-addr (default 127.0.0.1:9092)."},
	{"hash-key", "hash an API key read from standard input", "gateway hash-key [NAME SCOPE[,SCOPE...]] < keyfile",
		"Print the SHA-256 hash of the API key on standard input or, with a name and\n" +
			"scopes, a whole line for auth.api.keys.file. The key never appears in the output."},
	{"version", "print the module version and VCS revision", "gateway version",
		"Print the module version, the VCS revision (and whether the tree was modified)\nand the Go version the binary was built with."},
	{"help", "list the commands, or print one command's help", "gateway help [COMMAND]",
		"Print the list of commands, or a command's description and flags."},
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run dispatches a command line and returns the process exit code: 0 on
// success (and for help), 1 when the command failed, 2 on a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "-h" || a == "-help" || a == "--help":
			cmd, args = "help", args[1:]
		case a == "-version" || a == "--version":
			cmd, args = "version", args[1:]
		case a != "" && a[0] != '-':
			cmd, args = a, args[1:]
		}
	}
	if cmd == "help" {
		return helpCmd(ctx, args, stdout, stderr)
	}
	c, ok := lookup(cmd)
	if !ok {
		fmt.Fprintf(stderr, "gateway: unknown command %q\n\n", cmd)
		printCommands(stderr)
		return 2
	}
	var err error
	switch c.name {
	case "serve":
		err = serveCmd(ctx, args, stdout, stderr)
	case "send":
		err = sendCmd(ctx, args, stdout, stderr)
	case "validate":
		err = validateCmd(ctx, args, stdout, stderr)
	case "convert":
		err = convertCmd(ctx, args, stdout, stderr)
	case "doctor":
		err = doctorCmd(ctx, args, stdout, stderr)
	case "hash-key":
		err = hashKeyCmd(args, os.Stdin, stdout, stderr)
	case "version":
		err = versionCmd(args, stdout, stderr)
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "gateway %s: %v\nRun 'gateway %s --help' for its flags.\n", cmd, err, cmd)
		return 2
	case errors.Is(err, errFailed):
		return 1
	default:
		fmt.Fprintf(stderr, "gateway %s: %v\n", cmd, err)
		return 1
	}
}

// helpCmd prints the command list, or with a command name that command's
// help (the same as `gateway CMD --help`).
func helpCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printCommands(stdout)
		return 0
	}
	if args[0] == "help" {
		fmt.Fprintln(stdout, "Usage: gateway help [COMMAND]")
		return 0
	}
	if _, ok := lookup(args[0]); !ok {
		fmt.Fprintf(stderr, "gateway help: unknown command %q\n\n", args[0])
		printCommands(stderr)
		return 2
	}
	return run(ctx, []string{args[0], "--help"}, stdout, stderr)
}

func printCommands(w io.Writer) {
	fmt.Fprintln(w, "Usage: gateway COMMAND [flags]  (no command: serve)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'gateway COMMAND --help' (or 'gateway help COMMAND') for a command's flags;")
	fmt.Fprintln(w, "'gateway --version' prints the version.")
}

// newFlagSet returns the FlagSet of command name. For -h/--help it prints
// to stdout the command's synopsis, description and the flags that
// show(name) accepts (all when show is nil). Otherwise it prints nothing:
// run reports a flag error once, with a pointer to --help.
func newFlagSet(name string, args []string, stdout, _ io.Writer, show func(string) bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	out := io.Discard
	if wantsHelp(args) {
		out = stdout
	}
	fs.SetOutput(out)
	c, _ := lookup(name)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: %s\n\n%s\n", c.synopsis, c.about)
		n := 0
		fs.VisitAll(func(f *flag.Flag) {
			if show == nil || show(f.Name) {
				n++
			}
		})
		if n == 0 {
			return
		}
		fmt.Fprintln(out, "\nFlags:")
		sub := flag.NewFlagSet(name, flag.ContinueOnError)
		sub.SetOutput(out)
		fs.VisitAll(func(f *flag.Flag) {
			if show == nil || show(f.Name) {
				sub.Var(f.Value, f.Name, f.Usage)
				sub.Lookup(f.Name).DefValue = f.DefValue
			}
		})
		sub.PrintDefaults()
	}
	return fs
}

// wantsHelp reports whether args ask for help (-h, -help, --help before
// any "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}
