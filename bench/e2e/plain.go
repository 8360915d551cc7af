package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/router"
)

// plainResult is what the plain producer measured; it crosses the process
// boundary as JSON.
type plainResult struct {
	Rate          float64       `json:"rate"`
	Count         int64         `json:"count"`
	P50, P99, Max time.Duration `json:"-"`
	Lat           [3]int64      `json:"lat_ns"` // p50, p99, max
	// CPU is the producer process's user+system CPU time over the
	// measurement only (client setup excluded).
	CPU time.Duration `json:"cpu_ns"`
}

// runPlainChild runs the plain producer in a child process (this binary
// with -plain-child), so that its CPU time is its own and not mixed with
// the MLLP load generator's, and waits for its result.
func runPlainChild(ctx context.Context, broker, glob, convert string, conns int, dur time.Duration) (plainResult, error) {
	self, err := os.Executable()
	if err != nil {
		return plainResult{}, fmt.Errorf("plain producer: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, "-plain-child", "-brokers", broker, "-messages", glob,
		"-connections", strconv.Itoa(conns), "-duration", dur.String(), "-convert", convert)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return plainResult{}, fmt.Errorf("plain producer process: %w", err)
	}
	var r plainResult
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &r); err != nil {
		return plainResult{}, fmt.Errorf("plain producer result %q: %w", out.String(), err)
	}
	r.P50, r.P99, r.Max = time.Duration(r.Lat[0]), time.Duration(r.Lat[1]), time.Duration(r.Lat[2])
	return r, nil
}

// plainChild is the child process's main: it produces for dur and prints
// its result as one JSON line.
func plainChild(brokers, glob, convert string, conns int, dur time.Duration) error {
	msgs, _, err := runMessages(glob, convert) // -convert: the same payloads as the gateways get
	if err != nil {
		return err
	}
	r, err := plainProduce(context.Background(), strings.Split(brokers, ","), msgs, conns, dur)
	if err != nil {
		return err
	}
	r.Lat = [3]int64{int64(r.P50), int64(r.P99), int64(r.Max)}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// plainProduce sends the payloads with conns goroutines, each waiting for
// its record to be acknowledged before the next, with the gateway's own
// producer settings (acks=all, idempotent, linger, compression).
func plainProduce(ctx context.Context, brokers []string, msgs [][]byte, conns int, dur time.Duration) (plainResult, error) {
	topics := make([]string, len(msgs))
	for i, m := range msgs {
		parsed, err := hl7.Parse(m)
		if err != nil {
			return plainResult{}, err
		}
		if topics[i], err = router.HL7Topic("", hl7door.Meta(parsed, "")); err != nil {
			return plainResult{}, err
		}
	}
	opts, err := publish.Options(config.Default().Kafka, brokers)
	if err != nil {
		return plainResult{}, err
	}
	cl, err := kgo.NewClient(append(opts, kgo.AllowAutoTopicCreation())...)
	if err != nil {
		return plainResult{}, err
	}
	defer cl.Close()
	var (
		mu    sync.Mutex
		lats  []time.Duration
		count atomic.Int64
		errc  = make(chan error, conns)
		wg    sync.WaitGroup
	)
	cpu0 := selfCPU()
	deadline := time.Now().Add(dur)
	start := time.Now()
	for c := 0; c < conns; c++ {
		wg.Go(func() {
			local := make([]time.Duration, 0, 1024)
			for i := c; time.Now().Before(deadline); i += conns {
				m := msgs[i%len(msgs)]
				t0 := time.Now()
				r := &kgo.Record{Topic: topics[i%len(msgs)], Key: []byte(strconv.Itoa(i)), Value: m}
				if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
					errc <- err
					return
				}
				local = append(local, time.Since(t0))
				count.Add(1)
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := selfCPU() - cpu0
	select {
	case err := <-errc:
		return plainResult{}, err
	default:
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	if len(lats) == 0 {
		return plainResult{}, fmt.Errorf("nothing produced")
	}
	pct := func(p float64) time.Duration { return lats[min(len(lats)-1, int(p*float64(len(lats))))] }
	return plainResult{Rate: float64(count.Load()) / elapsed.Seconds(), Count: count.Load(), CPU: cpu,
		P50: pct(0.50), P99: pct(0.99), Max: lats[len(lats)-1]}, nil
}
