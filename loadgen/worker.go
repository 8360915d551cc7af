package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/hl7gw/gateway/ingest/hl7/mllp"
)

// worker drives one connection. Its counters are only touched by its own
// goroutine and read after the run.
type worker struct {
	r      *run
	id     int
	client *mllp.Client // nil after a transport error until reconnected
	seq    int
	buf    []byte

	sent, answered, errors int
	codes                  map[string]int
	hist                   histogram
	dialFailures           int
}

// loop sends claimed messages until the run is over, then closes its
// connection.
func (w *worker) loop(ctx context.Context) {
	defer func() {
		if w.client != nil {
			_ = w.client.Close()
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

// sendOne sends message i and records the outcome; false ends the worker.
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

	if w.client == nil {
		c, err := mllp.Dial(ctx, o.Addr, o.TLS)
		if err != nil {
			w.fail(id)
			w.dialFailures++
			if w.dialFailures >= maxDialFailures {
				w.r.setErr(fmt.Errorf("loadgen: connection %d: %w", w.id, err))
				return false
			}
			return sleep(ctx, time.Duration(w.dialFailures)*100*time.Millisecond)
		}
		w.client, w.dialFailures = c, 0
	}

	sctx, cancel := context.WithTimeout(ctx, o.Timeout)
	start := time.Now()
	ans, err := w.client.Send(sctx, payload)
	d := time.Since(start)
	cancel()
	if err != nil {
		_ = w.client.Close()
		w.client = nil
		w.fail(id)
		return true
	}
	w.answered++
	w.hist.record(d)
	code := ackCode(ans)
	w.codes[code]++
	if o.OnAck != nil {
		o.OnAck(id, code)
	}
	return true
}

func (w *worker) fail(id string) {
	w.errors++
	if w.r.o.OnAck != nil {
		w.r.o.OnAck(id, "")
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
