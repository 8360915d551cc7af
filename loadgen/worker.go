package loadgen

import (
	"context"
	"fmt"
	"time"
)

// worker drives one connection. Its counters are only touched by its own
// goroutine and read after the run; the run's live counters are atomic.
type worker struct {
	r       *run
	id      int
	session *Session // nil after a transport error until reconnected
	seq     int
	buf     []byte

	sent, answered, silent, errors, accepted int
	codes                                    map[string]int
	hist                                     histogram
	dialFailures                             int
}

// loop sends claimed messages until the run is over, waits for the
// answers still due, then closes its connection.
func (w *worker) loop(ctx context.Context) {
	defer func() {
		if w.session != nil {
			rs, _ := w.session.Flush(ctx)
			w.record(rs)
			_ = w.session.Close()
		}
	}()
	for {
		i, ok := w.r.claim(ctx)
		if !ok {
			return
		}
		if !w.sendOne(ctx, i) {
			return
		}
	}
}

// sendOne sends message i and records the outcomes that became known;
// false ends the worker.
func (w *worker) sendOne(ctx context.Context, i int) bool {
	o := &w.r.o
	t := w.r.tmpls[i%len(w.r.tmpls)]
	id := t.original
	payload := o.Messages[i%len(o.Messages)]
	if o.UniqueControlIDs {
		id = controlID(o.ControlIDPrefix, w.id, w.seq)
		w.buf = t.render(w.buf[:0], id)
		payload = w.buf
	}
	w.seq++
	w.sent++
	w.r.live.sent.Add(1)

	if w.session == nil {
		s, err := DialSession(ctx, o.Addr, o.TLS, o.Timeout, o.NoAnswerWait)
		if err != nil {
			w.record([]Result{{ControlID: id, Err: err}})
			w.dialFailures++
			if w.dialFailures >= maxDialFailures {
				w.r.setErr(fmt.Errorf("loadgen: connection %d: %w", w.id, err))
				return false
			}
			return sleep(ctx, time.Duration(w.dialFailures)*100*time.Millisecond)
		}
		w.session, w.dialFailures = s, 0
	}
	rs, err := w.session.Send(ctx, payload, id, w.r.modes[i%len(w.r.modes)], i)
	w.record(rs)
	if err != nil {
		_ = w.session.Close()
		w.session = nil
	}
	return true
}

// record counts outcomes and reports them to OnAck.
func (w *worker) record(rs []Result) {
	for _, r := range rs {
		code := r.Code
		switch {
		case r.Late:
			// A late error answer voids an acceptance on silence.
			w.silent--
			w.answered++
			w.codes[r.Code]++
			if !r.Accepted {
				w.accepted--
				w.r.live.accepted.Add(-1)
			}
		case r.Err != nil:
			w.errors++
		case r.Answer == nil:
			w.silent++
			if r.Accepted {
				code = CodeSilent
			}
		default:
			w.answered++
			w.hist.record(r.Latency)
			w.codes[r.Code]++
		}
		if r.Accepted && !r.Late {
			w.accepted++
			w.r.live.accepted.Add(1)
		}
		if !r.Late {
			w.r.live.done.Add(1)
		}
		if w.r.o.OnAck != nil {
			w.r.o.OnAck(r.ControlID, code)
		}
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
