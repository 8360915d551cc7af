package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hl7gw/gateway/loadgen"
)

// sendCmd implements `gateway send ADDR FILE...`. Without load options it
// sends each file once, in order, on one connection and prints each
// outcome: the answer's MSA (and ERR) segments, or why none came. With
// --connections, --count, --duration or --rate it runs the load generator,
// prints progress each second on stderr and one summary line on stdout.
// Either way a message waits only for the answer its MSH-15 promises (see
// loadgen.Session) and the command fails (exit 1) when any message was not
// accepted (no AA/CA, or no answer where one was due).
func sendCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("send", args, stdout, stderr, nil)
	conns := fs.Int("connections", 0, "load: concurrent MLLP connections")
	count := fs.Int("count", 0, "load: total messages to send (default: each file once, unless --duration)")
	duration := fs.Duration("duration", 0, "load: how long to send")
	rate := fs.Float64("rate", 0, "load: total messages per second (0 = as fast as ACKs come back)")
	unique := fs.Bool("unique-ids", true, "load: rewrite MSH-10 so that every message sent is distinct")
	timeout := fs.Duration("timeout", 30*time.Second, "time to wait for each answer that is due")
	noAnswer := fs.Duration("no-answer-wait", loadgen.DefaultNoAnswerWait, "time a message with MSH-15 ER, when no later message follows on its connection, waits for a possible error answer; silence counts as accepted")
	if err := fs.Parse(interleaved(fs, args)); err != nil {
		return usageErr(err)
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
	if !load {
		return sendEach(ctx, addr, files, msgs, *timeout, *noAnswer, stdout)
	}
	if *count == 0 && *duration == 0 {
		*count = len(msgs) // --connections alone: every file once
	}
	rep, err := loadgen.Run(ctx, loadgen.Options{
		Addr: addr, Messages: msgs, Connections: max(*conns, 1), Count: *count,
		Duration: *duration, Rate: *rate, UniqueControlIDs: *unique,
		ControlIDPrefix: fmt.Sprintf("LG%d", time.Now().Unix()%100000), Timeout: *timeout,
		NoAnswerWait: *noAnswer,
		Progress:     func(p loadgen.Progress) { fmt.Fprintln(stderr, "gateway send:", p) },
	})
	if rep.Sent > 0 {
		fmt.Fprintln(stdout, rep.String())
	}
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if n := rep.NotAccepted(); n > 0 {
		fmt.Fprintf(stderr, "gateway send: %d of %d messages not accepted\n", n, rep.Sent)
		return errFailed
	}
	return nil
}

// sendEach sends every message once on one connection and prints one line
// per outcome, in the order outcomes become known (an ER message's comes
// with the next answer). It fails when any message was not accepted.
func sendEach(ctx context.Context, addr string, files []string, msgs [][]byte, timeout, noAnswer time.Duration, stdout io.Writer) error {
	s, err := loadgen.DialSession(ctx, addr, nil, timeout, noAnswer)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer s.Close()
	byID := map[string]int{}
	failed := false
	print := func(rs []loadgen.Result) {
		for _, r := range rs {
			i := r.Tag
			if r.Late {
				i = byID[r.ControlID]
			}
			fmt.Fprintf(stdout, "%s\t%s\n", files[i], describe(r, noAnswer))
			failed = failed || !r.Accepted
		}
	}
	for i, m := range msgs {
		id := loadgen.ControlIDOf(m)
		byID[id] = i
		rs, err := s.Send(ctx, m, id, loadgen.ModeOf(m), i)
		print(rs)
		if err != nil {
			return fmt.Errorf("%s: %w", files[i], err)
		}
	}
	rs, err := s.Flush(ctx)
	print(rs)
	if err != nil {
		return err
	}
	if failed {
		return errFailed
	}
	return nil
}

// describe describes one Result for a terminal.
func describe(r loadgen.Result, noAnswer time.Duration) string {
	switch {
	case r.Late:
		return "late error answer (voids the acceptance above): " + ackSummary(r.Answer)
	case r.Err != nil:
		return "no answer: " + r.Err.Error()
	case r.Answer != nil:
		return ackSummary(r.Answer)
	case r.Mode == loadgen.AckNever:
		return "no answer (MSH-15 NE: none is sent)"
	case r.Mode == loadgen.AckOnError:
		return fmt.Sprintf("no answer (MSH-15 ER: no error answer within %s or before the next answer, accepted)", noAnswer)
	default:
		return "no answer (MSH-15 SU: not accepted)"
	}
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
