package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/publish"
)

// pathResult is one path's figures.
type pathResult struct {
	Messages   int            `json:"messages"`
	Errors     int            `json:"errors"`
	Elapsed    time.Duration  `json:"elapsed_ns"`
	MsgsPerSec float64        `json:"msgs_per_sec"`
	P50        time.Duration  `json:"p50_ns"`
	P99        time.Duration  `json:"p99_ns"`
	Max        time.Duration  `json:"max_ns"`
	Codes      map[string]int `json:"codes,omitempty"`
}

// plainProduce sends count messages (the same payloads and control ids
// "<prefix>-<conn>-<seq>" as the load generator) to topic with conns
// goroutines, each waiting for its record to be acknowledged before the
// next, with the gateway's default producer settings (acks=all,
// idempotent, snappy, linger 0) and the gateway's partition keys. A failed
// produce is counted, not retried; the first error is returned with the
// figures when every produce failed.
func plainProduce(ctx context.Context, brokers []string, topic string, ps []payload, count, conns int, prefix string) (pathResult, error) {
	opts, err := publish.Options(config.Default().Kafka, brokers, kgo.ClientID("soak-plain"))
	if err != nil {
		return pathResult{}, fmt.Errorf("plain options: %w", err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return pathResult{}, fmt.Errorf("plain client: %w", err)
	}
	defer cl.Close()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lats     = make([]time.Duration, 0, count)
		errs     int
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for c := range conns {
		wg.Go(func() {
			local := make([]time.Duration, 0, count/conns+1)
			var buf []byte
			nerr := 0
			var ferr error
			for seq := 0; ; seq++ {
				i := int(next.Add(1) - 1)
				if i >= count || ctx.Err() != nil {
					break
				}
				p := ps[i%len(ps)]
				buf = p.render(buf[:0], prefix+"-"+strconv.Itoa(c)+"-"+strconv.Itoa(seq))
				// The client keeps Value until the record is acked:
				// ProduceSync returns after that, so buf is reused safely.
				r := &kgo.Record{Topic: topic, Key: p.key, Value: buf}
				t0 := time.Now()
				if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
					nerr++
					ferr = cmpOr(ferr, err)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, local...)
			errs += nerr
			firstErr = cmpOr(firstErr, ferr)
			mu.Unlock()
		})
	}
	wg.Wait()
	res := pathResult{Messages: len(lats), Errors: errs, Elapsed: time.Since(start)}
	if len(lats) == 0 {
		return res, errors.Join(errors.New("plain producer: nothing acknowledged"), firstErr)
	}
	slices.Sort(lats)
	pct := func(q float64) time.Duration { return lats[min(len(lats)-1, int(q*float64(len(lats))))] }
	res.MsgsPerSec = float64(len(lats)) / res.Elapsed.Seconds()
	res.P50, res.P99, res.Max = pct(0.50), pct(0.99), lats[len(lats)-1]
	return res, nil
}

// cmpOr returns a unless it is nil, else b.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
