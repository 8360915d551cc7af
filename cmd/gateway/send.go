package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hl7gw/gateway/ingest/hl7"
	"github.com/hl7gw/gateway/ingest/hl7/mllp"
	"github.com/hl7gw/gateway/loadgen"
)

// sendCmd implements `gateway send ADDR FILE...`. Without load options it
// sends each file once, in order, on one connection and prints each ACK's
// MSA (and ERR) segments; it fails (exit 1) when any answer is not AA/CA.
// With --connections, --count, --duration or --rate it runs the load
// generator and prints one summary line.
func sendCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conns := fs.Int("connections", 0, "load: concurrent MLLP connections")
	count := fs.Int("count", 0, "load: total messages to send")
	duration := fs.Duration("duration", 0, "load: how long to send")
	rate := fs.Float64("rate", 0, "load: total messages per second (0 = as fast as ACKs come back)")
	unique := fs.Bool("unique-ids", true, "load: rewrite MSH-10 so that every message sent is distinct")
	timeout := fs.Duration("timeout", 30*time.Second, "time to wait for each ACK")
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() < 2 {
		return fmt.Errorf("%w: need ADDR and at least one FILE", errUsage)
	}
	addr, files := fs.Arg(0), fs.Args()[1:]
	var msgs [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		msgs = append(msgs, b)
	}
	load := *conns > 0 || *count > 0 || *duration > 0 || *rate > 0
	if load {
		rep, err := loadgen.Run(ctx, loadgen.Options{
			Addr: addr, Messages: msgs, Connections: max(*conns, 1), Count: *count,
			Duration: *duration, Rate: *rate, UniqueControlIDs: *unique,
			ControlIDPrefix: fmt.Sprintf("LG%d", time.Now().Unix()%100000), Timeout: *timeout,
		})
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		fmt.Fprintln(stdout, rep.String())
		return nil
	}
	return sendEach(ctx, addr, files, msgs, *timeout, stdout)
}

func sendEach(ctx context.Context, addr string, files []string, msgs [][]byte, timeout time.Duration, stdout io.Writer) error {
	c, err := mllp.Dial(ctx, addr, nil)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	failed := false
	for i, m := range msgs {
		sctx, cancel := context.WithTimeout(ctx, timeout)
		ack, err := c.Send(sctx, m)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", files[i], err)
		}
		info, perr := hl7.ParseACK(ack)
		fmt.Fprintf(stdout, "%s\t%s\n", files[i], ackSummary(ack))
		if perr != nil || (info.Code != "AA" && info.Code != "CA") {
			failed = true
		}
	}
	if failed {
		return errFailed
	}
	return nil
}

// ackSummary prints the ACK's MSA and ERR segments on one line, segments
// separated by " | " (the ACK carries no patient data).
func ackSummary(ack []byte) string {
	var parts []string
	for _, seg := range strings.FieldsFunc(string(ack), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if strings.HasPrefix(seg, "MSA") || strings.HasPrefix(seg, "ERR") {
			parts = append(parts, seg)
		}
	}
	if len(parts) == 0 {
		return strings.TrimSpace(strings.ReplaceAll(string(ack), "\r", " | "))
	}
	return strings.Join(parts, " | ")
}

// interleaved lets flags follow positional arguments ("send ADDR FILE
// --count 10"): it moves every flag the set knows, with its value, to the
// front.
func interleaved(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(flags, pos...)
}
