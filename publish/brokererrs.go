package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// franz-go retries retriable produce errors (NOT_ENOUGH_REPLICAS,
// REQUEST_TIMED_OUT, NOT_LEADER_FOR_PARTITION, ...) internally until the
// record delivery timeout, and then fails the record with a bare
// kgo.ErrRecordTimeout; no hook carries the broker's error codes. The
// client does describe every produce response in its debug log ("produced",
// to: "topic[partition{retrying@offset,n(ERROR_NAME: text)}, ...]") and
// logs each finally failed batch at info with topic, partition and the
// *kerr.Error. brokerErrors reads those two log calls to (1) count broker
// errors by code and (2) remember the last error per partition, which
// Publish attaches to a timeout so that the answer says
// "not_enough_replicas" rather than just "timeout". The cost is franz-go
// building its debug lines (a few small allocations per request); they
// are dropped here unless they are warnings or errors.

type topicPartition struct {
	topic     string
	partition int32
}

type lastErr struct {
	err error
	at  time.Time
}

// brokerErrors is a kgo.Logger: it forwards warnings and errors to slog and
// inspects info lines for broker error codes. Safe for concurrent use; Log
// never blocks beyond a short mutex.
type brokerErrors struct {
	log   *slog.Logger
	count func(code string)

	mu   sync.Mutex
	last map[topicPartition]lastErr
}

func newBrokerErrors(log *slog.Logger, count func(string)) *brokerErrors {
	return &brokerErrors{log: log, count: count, last: map[topicPartition]lastErr{}}
}

// Level asks franz-go for debug lines, which describe produce responses.
func (b *brokerErrors) Level() kgo.LogLevel { return kgo.LogLevelDebug }

// Log implements kgo.Logger. franz-go logs brokers, topics, partitions and
// errors, never record keys or values.
func (b *brokerErrors) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	if level == kgo.LogLevelDebug && msg == "produced" {
		b.inspectProduced(keyvals)
		return
	}
	b.inspect(keyvals)
	if level == kgo.LogLevelInfo {
		// Producer id loads, epoch bumps, transaction begins and ends:
		// what a transaction's fate is read from, at log level debug.
		if b.log.Enabled(context.Background(), slog.LevelDebug) {
			b.log.Debug("kafka client: "+msg, keyvals...)
		}
		return
	}
	if level > kgo.LogLevelWarn || level == kgo.LogLevelNone {
		return
	}
	lvl := slog.LevelWarn
	if level == kgo.LogLevelError {
		lvl = slog.LevelError
	}
	b.log.Log(context.Background(), lvl, "kafka client: "+msg, keyvals...)
}

func (b *brokerErrors) inspect(keyvals []any) {
	var (
		tp       topicPartition
		ke       *kerr.Error
		hasTopic bool
		hasPart  bool
	)
	for i := 0; i+1 < len(keyvals); i += 2 {
		switch keyvals[i] {
		case "topic":
			tp.topic, hasTopic = keyvals[i+1].(string)
		case "partition":
			tp.partition, hasPart = keyvals[i+1].(int32)
		case "err":
			if err, ok := keyvals[i+1].(error); ok {
				errors.As(err, &ke)
			}
		}
	}
	if ke == nil || !hasTopic || !hasPart {
		return
	}
	b.note(tp, ke)
}

func (b *brokerErrors) note(tp topicPartition, ke *kerr.Error) {
	b.count(ke.Message)
	b.mu.Lock()
	b.last[tp] = lastErr{err: ke, at: time.Now()}
	b.mu.Unlock()
}

var (
	producedTopicRE = regexp.MustCompile(`([A-Za-z0-9._-]+)\[([^\]]*)\]`)
	producedPartRE  = regexp.MustCompile(`(\d+)\{[^}]*?\(([A-Z][A-Z_]+):`)
)

// inspectProduced reads franz-go's "produced" debug line, e.g.
// to: "t[0{retrying@0,1(NOT_ENOUGH_REPLICAS: Messages are rejected...)}]".
func (b *brokerErrors) inspectProduced(keyvals []any) {
	for i := 0; i+1 < len(keyvals); i += 2 {
		to, ok := keyvals[i+1].(string)
		if keyvals[i] != "to" || !ok || !strings.Contains(to, "(") {
			continue
		}
		for _, tm := range producedTopicRE.FindAllStringSubmatch(to, -1) {
			for _, pm := range producedPartRE.FindAllStringSubmatch(tm[2], -1) {
				part, err := strconv.ParseInt(pm[1], 10, 32)
				ke := kerrByName(pm[2])
				if err != nil || ke == nil {
					continue
				}
				b.note(topicPartition{tm[1], int32(part)}, ke)
			}
		}
	}
}

// kerrByName finds the kerr error with the given name.
func kerrByName(name string) *kerr.Error { return kerrNames()[name] }

var kerrNames = sync.OnceValue(func() map[string]*kerr.Error {
	m := map[string]*kerr.Error{}
	for code := int16(-1); code < 300; code++ {
		if ke, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
			m[ke.Message] = ke
		}
	}
	return m
})

// explain attaches the last broker error seen since start for the record's
// partition to err, when err is a bare timeout or cancellation.
func (b *brokerErrors) explain(err error, r *kgo.Record, since time.Time) error {
	if r == nil || !(errors.Is(err, kgo.ErrRecordTimeout) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	var already *kerr.Error
	if errors.As(err, &already) {
		return err
	}
	b.mu.Lock()
	le, ok := b.last[topicPartition{r.Topic, r.Partition}]
	b.mu.Unlock()
	if !ok || le.at.Before(since) {
		return err
	}
	return fmt.Errorf("%w (last broker error: %w)", err, le.err)
}
