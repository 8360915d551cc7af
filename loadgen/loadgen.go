// Package loadgen sends HL7 v2 messages over MLLP at a given rate and
// concurrency and reports throughput, latency and acknowledgement codes.
// It backs `gateway send` and the end-to-end loss checks: with unique
// control ids every message is distinct and OnAck sees each answer.
package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Run.
type Options struct {
	Addr string      // MLLP server "host:port"
	TLS  *tls.Config // nil = plain TCP

	Messages    [][]byte      // payloads, sent round-robin (not modified)
	Connections int           // default 1
	Count       int           // total messages; 0 = until Duration
	Duration    time.Duration // stop claiming new messages after this; 0 = until Count
	// Rate is the total messages/s across connections; 0 = as fast as
	// possible. Message i is due at start + i/Rate (a connection behind
	// schedule sends at once); each connection still waits for its answer
	// before its next send, so latency above Connections/Rate caps the rate.
	Rate float64

	// UniqueControlIDs rewrites MSH-10 of each sent message to
	// "<prefix>-<conn>-<seq>" (further MSH of a batch get ".1", ".2", ...),
	// keeping every other byte identical. Every message must then have an
	// MSH-10 field. Older HL7 versions limit MSH-10 to 20 characters: keep
	// the prefix short.
	UniqueControlIDs bool
	ControlIDPrefix  string // default "LG" + 5 base-36 characters from the clock

	Timeout time.Duration // per-message answer timeout; default 30s
	// NoAnswerWait is how long a message with MSH-15 ER that no later
	// message follows on its connection waits for a possible error answer
	// before it counts as accepted; default DefaultNoAnswerWait. See
	// Session for how MSH-15 is honoured.
	NoAnswerWait time.Duration

	// OnAck, when set, is called once per message attempted: controlID is
	// the MSH-10 sent, ackCode the answer's MSA-1 (CodeUnreadable if it has
	// none, CodeNone for a batch answer without MSA), CodeSilent when no
	// answer came and MSH-15 (NE, ER) makes silence mean accepted, or ""
	// when no answer came otherwise (transport error, timeout, SU). A late
	// error answer to an ER message already reported CodeSilent calls it a
	// second time with the answer's code. It is called from the connection
	// goroutines concurrently and must not block for long.
	OnAck func(controlID string, ackCode string)

	// Progress, when set, is called every ProgressEvery (default 1s) from
	// its own goroutine with the figures so far, and not after Run returns.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// CodeSilent is the OnAck code of a message accepted without an answer,
// as its MSH-15 (NE, ER) allows.
const CodeSilent = "silent"

// Progress is a snapshot of a running Run.
type Progress struct {
	Elapsed               time.Duration
	Sent, Done            int // messages written; messages whose outcome is known
	Accepted, NotAccepted int // of Done
}

// String returns a one-line human progress line.
func (p Progress) String() string {
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.Done) / s
	}
	return fmt.Sprintf("%s: sent=%d accepted=%d not_accepted=%d (%.0f msgs/s)",
		p.Elapsed.Round(time.Second), p.Sent, p.Accepted, p.NotAccepted, rate)
}

// Report summarises a Run. Sent == Answered + Silent + Errors.
type Report struct {
	// Answered messages got an answer; Silent ones none, as their MSH-15
	// allows (NE, ER, SU); Errors had a transport error or timed out.
	Sent, Answered, Silent, Errors int
	// Accepted: answered AA/CA (a batch: no MSA other than AA/CA), or
	// silent where silence means accepted (NE, ER).
	Accepted      int
	Codes         map[string]int // MSA-1 code -> answers
	Elapsed       time.Duration
	MsgsPerSec    float64 // answered or silent, per second of Elapsed
	P50, P99, Max time.Duration
}

// NotAccepted counts the messages sent but not accepted: error answers,
// transport errors, timeouts, SU messages left unanswered.
func (r Report) NotAccepted() int { return r.Sent - r.Accepted }

// String returns a one-line human summary.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sent=%d accepted=%d not_accepted=%d answered=%d silent=%d errors=%d in %s: %.1f msgs/s, latency p50=%s p99=%s max=%s, codes",
		r.Sent, r.Accepted, r.NotAccepted(), r.Answered, r.Silent, r.Errors, r.Elapsed.Round(time.Millisecond), r.MsgsPerSec,
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond))
	if len(r.Codes) == 0 {
		b.WriteString(" none")
	}
	for _, c := range slices.Sorted(maps.Keys(r.Codes)) {
		fmt.Fprintf(&b, " %s=%d", c, r.Codes[c])
	}
	return b.String()
}

// maxDialFailures is how many consecutive failed reconnects end a
// connection's part of the run.
const maxDialFailures = 3

func (o *Options) check() error {
	switch {
	case o.Addr == "":
		return errors.New("loadgen: no address")
	case len(o.Messages) == 0:
		return errors.New("loadgen: no messages")
	case o.Count < 0 || o.Duration < 0 || o.Rate < 0 || o.Connections < 0 || o.Timeout < 0:
		return errors.New("loadgen: negative option")
	case o.Count == 0 && o.Duration == 0:
		return errors.New("loadgen: neither Count nor Duration set")
	}
	if o.Connections == 0 {
		o.Connections = 1
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.ControlIDPrefix == "" {
		o.ControlIDPrefix = "LG" + strconv.FormatInt(time.Now().UnixMilli()%(36*36*36*36*36), 36)
	}
	return nil
}

// Run connects Connections clients to Addr and sends messages until Count
// messages were sent or Duration passed (whichever comes first when both
// are set), then waits for the answers in flight. It blocks until done or
// ctx ends; the Report is filled in either case. Each message waits only
// for the answer its MSH-15 says will come (see Session).
//
// All connections are dialled first: a failed first dial ends Run with an
// error. A transport error later (timeout, reset) counts the message as an
// error (it is not resent), closes the connection and reconnects for the
// next message; after three consecutive failed reconnects that connection
// stops and Run returns the dial error with the Report.
func Run(ctx context.Context, o Options) (Report, error) {
	if err := o.check(); err != nil {
		return Report{}, err
	}
	tmpls := make([]template, len(o.Messages))
	modes := make([]AckMode, len(o.Messages))
	for i, m := range o.Messages {
		t, err := newTemplate(m)
		if o.UniqueControlIDs {
			if err != nil {
				return Report{}, fmt.Errorf("loadgen: message %d: %w", i, err)
			}
			if t.clashes(o.ControlIDPrefix) {
				return Report{}, fmt.Errorf("loadgen: message %d: its delimiters occur in control ids %q", i, o.ControlIDPrefix+idAlphabet)
			}
		}
		tmpls[i], modes[i] = t, ModeOf(m)
	}
	sessions := make([]*Session, o.Connections)
	for i := range sessions {
		s, err := DialSession(ctx, o.Addr, o.TLS, o.Timeout, o.NoAnswerWait)
		if err != nil {
			for _, s := range sessions[:i] {
				_ = s.Close()
			}
			return Report{}, fmt.Errorf("loadgen: connection %d: %w", i, err)
		}
		sessions[i] = s
	}

	r := &run{o: o, tmpls: tmpls, modes: modes, start: time.Now()}
	stopProgress := r.progress()
	workers := make([]*worker, o.Connections)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = &worker{r: r, id: i, session: sessions[i], codes: map[string]int{}}
		wg.Go(func() { workers[i].loop(ctx) })
	}
	wg.Wait()
	stopProgress()
	return r.report(workers), errors.Join(ctx.Err(), r.err())
}

// run is the state shared by the workers.
type run struct {
	o     Options
	tmpls []template
	modes []AckMode
	start time.Time
	next  atomic.Int64 // next message index to claim
	live  struct{ sent, done, accepted atomic.Int64 }

	mu      sync.Mutex
	dialErr error
}

// progress calls Options.Progress every ProgressEvery until the returned
// function is called (which waits for the last call to end).
func (r *run) progress() (stop func()) {
	if r.o.Progress == nil {
		return func() {}
	}
	every := r.o.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				d, a := int(r.live.done.Load()), int(r.live.accepted.Load())
				r.o.Progress(Progress{Elapsed: time.Since(r.start), Sent: int(r.live.sent.Load()), Done: d, Accepted: a, NotAccepted: d - a})
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func (r *run) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dialErr == nil {
		r.dialErr = err
	}
}

func (r *run) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dialErr
}

// claim returns the index of the next message to send, or false when the
// run is over. With a Rate it waits until the message is due.
func (r *run) claim(ctx context.Context) (int, bool) {
	if ctx.Err() != nil || r.expired() {
		return 0, false
	}
	i := r.next.Add(1) - 1
	if r.o.Count > 0 && i >= int64(r.o.Count) {
		return 0, false
	}
	if r.o.Rate > 0 {
		due := r.start.Add(time.Duration(float64(i) / r.o.Rate * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return 0, false
			case <-t.C:
			}
		}
		if r.expired() {
			return 0, false
		}
	}
	return int(i), true
}

func (r *run) expired() bool {
	return r.o.Duration > 0 && time.Since(r.start) >= r.o.Duration
}

func (r *run) report(ws []*worker) Report {
	rep := Report{Codes: map[string]int{}, Elapsed: time.Since(r.start)}
	var h histogram
	for _, w := range ws {
		rep.Sent += w.sent
		rep.Answered += w.answered
		rep.Silent += w.silent
		rep.Errors += w.errors
		rep.Accepted += w.accepted
		for c, n := range w.codes {
			rep.Codes[c] += n
		}
		h.merge(&w.hist)
	}
	if s := rep.Elapsed.Seconds(); s > 0 {
		rep.MsgsPerSec = float64(rep.Answered+rep.Silent) / s
	}
	rep.P50, rep.P99, rep.Max = h.quantile(0.50), h.quantile(0.99), h.max
	return rep
}
