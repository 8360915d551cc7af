// Command e2e measures the gateway end to end beside a plain franz-go
// producer, in one run on one machine:
//
//  1. it starts `gateway serve` (the binary named by -gateway) with its
//     embedded broker on free loopback ports;
//  2. for each concurrency (1, 8, 64 by default) it sends HL7 messages over
//     MLLP with the load generator, each connection waiting for its ACK,
//     after one warm-up pass (so every topic exists on both paths),
//     and records msgs/s and ACK latency percentiles;
//  3. with the same concurrency, payloads, topics, acks=all and producer
//     settings it produces the same payloads straight to the same broker, each
//     goroutine waiting for its produce to be acknowledged;
//  4. it prints both and the ratio gateway/plain.
//
// The gateway, the broker and this process share the machine, as they do
// in the comparison's plain half (broker and producer).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/ingest/hl7"
	"github.com/hl7gw/gateway/loadgen"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/router"
)

func main() {
	bin := flag.String("gateway", "bin/gateway", "gateway binary")
	glob := flag.String("messages", "ingest/hl7/testdata/corpus/valid/*.hl7", "HL7 files to send (batches and messages whose MSH-15 asks for no ACK are left out)")
	dur := flag.Duration("duration", 8*time.Second, "duration of each measurement")
	concs := flag.String("connections", "1,8,64", "concurrency levels")
	flag.Parse()
	if err := run(*bin, *glob, *dur, *concs); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
}

func run(bin, glob string, dur time.Duration, concs string) error {
	msgs, err := loadMessages(glob)
	if err != nil {
		return err
	}
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	mllpAddr, httpAddr := "127.0.0.1:"+ports[0], "127.0.0.1:"+ports[1]
	kafkaAddr := "127.0.0.1:" + ports[3]
	cmd := exec.Command(bin, "serve", "--mllp-addr", mllpAddr, "--http-addr", httpAddr,
		"--grpc-addr", "127.0.0.1:"+ports[2], "--embedded-kafka-addr", kafkaAddr, "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start gateway: %w", err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	if err := waitReady("http://"+httpAddr+"/readyz", 30*time.Second); err != nil {
		return err
	}
	// Warm up: one pass so that every topic exists and metadata is cached
	// on both paths before anything is measured.
	if _, err := loadgen.Run(context.Background(), loadgen.Options{Addr: mllpAddr, Messages: msgs, Connections: 1,
		Count: len(msgs), UniqueControlIDs: true, ControlIDPrefix: "WARM"}); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	fmt.Printf("e2e: %d distinct payloads, %s per measurement, broker: embedded (kfake) in the gateway process\n", len(msgs), dur)
	fmt.Printf("%-6s %-8s %12s %10s %10s %10s\n", "conns", "path", "msgs/s", "p50", "p99", "max")
	for _, f := range strings.Split(concs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("bad concurrency %q", f)
		}
		ctx := context.Background()
		rep, err := loadgen.Run(ctx, loadgen.Options{Addr: mllpAddr, Messages: msgs, Connections: n, Duration: dur,
			UniqueControlIDs: true, ControlIDPrefix: "E2E" + strconv.Itoa(n)})
		if err != nil {
			return fmt.Errorf("gateway load: %w", err)
		}
		if rep.Codes["AA"]+rep.Codes["CA"] != rep.Answered || rep.Errors > 0 {
			return fmt.Errorf("gateway answered %s, not only AA/CA", rep)
		}
		fmt.Printf("%-6d %-8s %12.0f %10s %10s %10s\n", n, "gateway", rep.MsgsPerSec, rep.P50, rep.P99, rep.Max)
		fmt.Printf("       (%s)\n", rep)
		plain, err := plainProduce(ctx, []string{kafkaAddr}, msgs, n, dur)
		if err != nil {
			return fmt.Errorf("plain producer: %w", err)
		}
		fmt.Printf("%-6d %-8s %12.0f %10s %10s %10s\n", n, "plain", plain.rate, plain.p50, plain.p99, plain.max)
		fmt.Printf("%-6d %-8s %12.2f\n", n, "ratio", rep.MsgsPerSec/plain.rate)
	}
	return nil
}

type plainResult struct {
	rate          float64
	p50, p99, max time.Duration
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
		if topics[i], err = router.HL7Topic("", hl7.Meta(parsed, "")); err != nil {
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
	return plainResult{rate: float64(count.Load()) / elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99), max: lats[len(lats)-1]}, nil
}

func loadMessages(glob string) ([][]byte, error) {
	files, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	var msgs [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if hl7.IsBatch(b) {
			continue
		}
		m, err := hl7.Parse(b)
		if err != nil {
			continue
		}
		if a := m.Header().AcceptAckType; a != "" && a != "AL" {
			continue // the sender asked for no accept ACK: nothing to wait for
		}
		if _, err := router.HL7Topic("", hl7.Meta(m, "")); err != nil {
			continue // no topic can be named after its MSH-9: a DLQ case, not the happy path
		}
		msgs = append(msgs, b)
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("no parseable HL7 messages match %s", glob)
	}
	return msgs, nil
}

func freePorts(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return out, nil
}

func waitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("gateway not ready at %s after %s", url, timeout)
}
