package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hl7gw/gateway/ingest/mllp"
)

// A Session sends HL7 messages over one MLLP connection and waits only for
// the answers MSH-15 (accept acknowledgement type, table 0155) says will
// come:
//
//   - AL, empty or unknown, and every batch (FHS/BHS): an answer always
//     comes; Send waits for it, up to the timeout.
//   - NE: no answer ever comes; the message counts as accepted unconfirmed
//     as soon as it is written.
//   - ER: an answer comes only when the message failed. Send does not wait;
//     the answer to any later message proves it was accepted (the server
//     answers in order), and at Flush a message with no later answer gets
//     NoAnswerWait: silence within it counts as accepted.
//   - SU: an answer comes only on success. Likewise resolved by a later
//     answer (silence then means failure) or at Flush within the timeout.
//
// MSH-16 (application acknowledgement) is not awaited: a gateway answers
// with accept acknowledgements only.
//
// Answers are matched to messages by MSA-2 (the control id sent) and, when
// MSA-2 does not name a message in flight, by order. An error answer that
// arrives after its ER message was counted accepted on silence (beyond
// NoAnswerWait) is reported as a late correction. A Session is not safe
// for concurrent use.
type Session struct {
	nc           net.Conn
	answers      chan []byte
	closed       chan struct{} // closed by Close: the reader stops delivering
	closeOnce    sync.Once
	readErr      error // set before answers is closed
	timeout      time.Duration
	noAnswerWait time.Duration

	wbuf    []byte
	pending []flight
	// silent remembers the ids of the last ER messages accepted on
	// silence, so that a late error answer can correct them.
	silent []string
	broken error
}

// flight is a message written whose answer may still come.
type flight struct {
	id   string
	mode AckMode
	tag  int
	sent time.Time
}

// Result is the outcome of one message (or a late correction of one).
type Result struct {
	Tag       int // as given to Send
	ControlID string
	Mode      AckMode
	Answer    []byte        // nil when none came
	Code      string        // MSA-1 (a batch: its worst), CodeNone, CodeUnreadable; "" without answer
	Accepted  bool          // AA/CA, or silence where MSH-15 makes silence mean accepted
	Latency   time.Duration // from write to answer; 0 without answer
	Err       error         // transport error or timeout: the outcome is unknown
	// Late marks an error answer to an ER message already reported
	// accepted on silence: the earlier Result is void.
	Late bool
}

// Silent reports whether the message was resolved without an answer and
// without a transport error.
func (r Result) Silent() bool { return r.Answer == nil && r.Err == nil }

// ErrNoAnswer is the Err of a message that expected an answer but was
// passed over by the answer to a later message.
var ErrNoAnswer = errors.New("loadgen: no answer, a later message was answered")

// errTimeout is returned by next when the deadline passes.
var errTimeout = errors.New("loadgen: no answer before the deadline")

// keepSilent bounds Session.silent.
const keepSilent = 256

// maxInFlight bounds the ER/SU messages waiting for resolution on one
// connection: past it Send waits for the oldest.
const maxInFlight = 64

// DialSession connects to addr (TLS when tlsCfg is set). timeout bounds
// the wait for each expected answer (default 30s) and noAnswerWait the wait
// for a possible error answer to a trailing ER message (default
// DefaultNoAnswerWait).
func DialSession(ctx context.Context, addr string, tlsCfg *tls.Config, timeout, noAnswerWait time.Duration) (*Session, error) {
	nc, err := mllp.DialConn(ctx, addr, tlsCfg)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if noAnswerWait <= 0 {
		noAnswerWait = DefaultNoAnswerWait
	}
	s := &Session{nc: nc, answers: make(chan []byte, 16), closed: make(chan struct{}), timeout: timeout, noAnswerWait: noAnswerWait}
	go s.read()
	return s, nil
}

// DefaultNoAnswerWait is how long a trailing MSH-15 ER message waits for a
// possible error answer before it counts as accepted.
const DefaultNoAnswerWait = time.Second

// read delivers every answer frame until the connection fails or closes.
func (s *Session) read() {
	r := mllp.NewReader(s.nc, mllp.DefaultMaxFrameSize)
	for {
		f, err := r.ReadFrame()
		if err != nil {
			s.readErr = err
			close(s.answers)
			return
		}
		select {
		case s.answers <- append([]byte(nil), f...):
		case <-s.closed:
			return
		}
	}
}

// Close closes the connection; answers still to come are lost.
func (s *Session) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	err := s.nc.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("mllp close: %w", err)
	}
	return nil
}

// Send writes payload (whose MSH-10 is id) and returns the Results that
// became known: this message's when it expects an answer or none at all,
// and those of earlier ER/SU messages the answers resolved. An error means
// the connection is unusable; the Results then include every message in
// flight with that error.
func (s *Session) Send(ctx context.Context, payload []byte, id string, mode AckMode, tag int) ([]Result, error) {
	if s.broken != nil {
		return []Result{{Tag: tag, ControlID: id, Mode: mode, Err: s.broken}}, s.broken
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = s.nc.SetWriteDeadline(deadline)
	s.wbuf = mllp.AppendFrame(s.wbuf[:0], payload)
	sent := time.Now()
	if _, err := s.nc.Write(s.wbuf); err != nil {
		out := s.fail(fmt.Errorf("mllp send: %w", err))
		return append(out, Result{Tag: tag, ControlID: id, Mode: mode, Err: s.broken}), s.broken
	}
	var out []Result
	switch mode {
	case AckNever:
		out = append(out, Result{Tag: tag, ControlID: id, Mode: mode, Accepted: true})
	case AckAlways:
		s.pending = append(s.pending, flight{id: id, mode: mode, tag: tag, sent: sent})
		return s.await(ctx, out, tag)
	default:
		s.pending = append(s.pending, flight{id: id, mode: mode, tag: tag, sent: sent})
	}
	out = s.poll(out)
	for len(s.pending) > maxInFlight && s.broken == nil {
		var err error
		if out, err = s.resolveOldest(ctx, out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Flush waits until every message in flight is resolved: ER messages get
// NoAnswerWait from their write, SU messages the timeout.
func (s *Session) Flush(ctx context.Context) ([]Result, error) {
	var out []Result
	for len(s.pending) > 0 && s.broken == nil {
		var err error
		if out, err = s.resolveOldest(ctx, out); err != nil {
			return out, err
		}
	}
	return out, s.broken
}

// await reads answers until the message tagged tag is resolved.
func (s *Session) await(ctx context.Context, out []Result, tag int) ([]Result, error) {
	deadline := s.pending[len(s.pending)-1].sent.Add(s.timeout)
	for s.inFlight(tag) {
		ans, at, err := s.next(ctx, deadline)
		if err != nil {
			return append(out, s.fail(err)...), s.broken
		}
		out = s.attribute(out, ans, at)
	}
	return out, nil
}

// resolveOldest waits for an answer until the oldest message's window
// ends, then resolves it on silence.
func (s *Session) resolveOldest(ctx context.Context, out []Result) ([]Result, error) {
	f := s.pending[0]
	window := s.timeout
	if f.mode == AckOnError {
		window = s.noAnswerWait
	}
	ans, at, err := s.next(ctx, f.sent.Add(window))
	switch {
	case errors.Is(err, errTimeout):
		s.pending = s.pending[1:]
		return append(out, s.silence(f)), nil
	case err != nil:
		return append(out, s.fail(err)...), s.broken
	}
	return s.attribute(out, ans, at), nil
}

// poll attributes the answers already received, without waiting.
func (s *Session) poll(out []Result) []Result {
	for {
		select {
		case ans, ok := <-s.answers:
			if !ok {
				return append(out, s.fail(s.closedErr())...)
			}
			out = s.attribute(out, ans, time.Now())
		default:
			return out
		}
	}
}

// next returns the next answer, or errTimeout at deadline, or why the
// connection or ctx ended.
func (s *Session) next(ctx context.Context, deadline time.Time) ([]byte, time.Time, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case ans, ok := <-s.answers:
		if !ok {
			return nil, time.Time{}, s.closedErr()
		}
		return ans, time.Now(), nil
	case <-t.C:
		return nil, time.Time{}, errTimeout
	case <-ctx.Done():
		return nil, time.Time{}, fmt.Errorf("mllp read answer: %w", ctx.Err())
	}
}

func (s *Session) closedErr() error {
	return fmt.Errorf("mllp read answer: %w", s.readErr)
}

func (s *Session) inFlight(tag int) bool {
	for _, f := range s.pending {
		if f.tag == tag {
			return true
		}
	}
	return false
}

// fail marks the session broken and returns a failed Result for every
// message in flight.
func (s *Session) fail(err error) []Result {
	if errors.Is(err, errTimeout) {
		err = fmt.Errorf("mllp read answer: %w", context.DeadlineExceeded)
	}
	s.broken = err
	_ = s.nc.Close()
	out := make([]Result, 0, len(s.pending))
	for _, f := range s.pending {
		out = append(out, Result{Tag: f.tag, ControlID: f.id, Mode: f.mode, Err: err})
	}
	s.pending = nil
	return out
}

// silence resolves f without an answer: accepted for ER, not for SU, an
// error for a message that always expects one.
func (s *Session) silence(f flight) Result {
	r := Result{Tag: f.tag, ControlID: f.id, Mode: f.mode}
	switch f.mode {
	case AckOnError:
		r.Accepted = true
		if f.id != "" {
			if len(s.silent) == keepSilent {
				s.silent = s.silent[1:]
			}
			s.silent = append(s.silent, f.id)
		}
	case AckAlways:
		r.Err = ErrNoAnswer
	}
	return r
}

// attribute matches one answer to the message it answers and resolves the
// messages before it on silence (the server answers in order).
func (s *Session) attribute(out []Result, ans []byte, at time.Time) []Result {
	code, ref, batch := answerOf(ans)
	accepted := code == "AA" || code == "CA" || (batch && code == CodeNone)
	j := -1
	if ref != "" {
		for i, f := range s.pending {
			if f.id == ref {
				j = i
				break
			}
		}
		if j < 0 {
			for i := len(s.silent) - 1; i >= 0; i-- {
				if s.silent[i] == ref {
					s.silent = append(s.silent[:i], s.silent[i+1:]...)
					return append(out, Result{ControlID: ref, Mode: AckOnError, Answer: ans, Code: code, Accepted: accepted, Late: true})
				}
			}
		}
	}
	for i := 0; j < 0 && i < len(s.pending); i++ {
		switch s.pending[i].mode {
		case AckAlways:
			j = i
		case AckOnError:
			if !accepted {
				j = i
			}
		case AckOnSuccess:
			if accepted {
				j = i
			}
		}
	}
	if j < 0 {
		return out // an answer to nothing in flight: ignored
	}
	for _, f := range s.pending[:j] {
		out = append(out, s.silence(f))
	}
	f := s.pending[j]
	s.pending = s.pending[j+1:]
	return append(out, Result{Tag: f.tag, ControlID: f.id, Mode: f.mode, Answer: ans, Code: code, Accepted: accepted, Latency: at.Sub(f.sent)})
}
