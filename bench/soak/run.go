package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hl7gw/gateway/loadgen"
)

// summary is everything a run measured; it is printed and written as JSON.
type summary struct {
	RunID        string   `json:"run_id"`
	Brokers      []string `json:"brokers"`
	Messages     int      `json:"messages"`
	Warmup       int      `json:"warmup"`
	Connections  int      `json:"connections"`
	Patients     int      `json:"patients"`
	Partitions   int      `json:"partitions"`
	MessageSize  int      `json:"message_bytes"`
	GatewayTopic string   `json:"gateway_topic"`
	PlainTopic   string   `json:"plain_topic"`

	Gateway pathResult `json:"gateway"`
	Plain   pathResult `json:"plain"`
	Ratio   float64    `json:"ratio_gateway_to_plain"`

	Check        verdict       `json:"check"`
	RecordsRead  int           `json:"records_read"`
	CheckElapsed time.Duration `json:"check_elapsed_ns"`

	RSS          rssReport    `json:"rss"`
	RuntimeStart runtimeStats `json:"runtime_start"`
	RuntimeEnd   runtimeStats `json:"runtime_end"`
	Samples      []sample     `json:"rss_samples"`

	// LoadAvg is /proc/loadavg at the start and end of each path's
	// measured phase: the machine is shared, and the two paths run one
	// after the other.
	LoadAvg map[string]string `json:"loadavg"`

	GatewayExit int            `json:"gateway_exit_code"`
	GatewayLog  string         `json:"gateway_log"`
	LogLevels   map[string]int `json:"gateway_log_lines_by_level"`
	Started     time.Time      `json:"started"`
	Took        time.Duration  `json:"took_ns"`
	// Error is the step that failed, if one did; the figures before it
	// are kept.
	Error string `json:"error,omitempty"`
}

// run performs the whole soak (see the package comment). It returns the
// summary of what was measured, even when a step failed.
func run(ctx context.Context, o options) (*summary, error) {
	id := runID()
	s := &summary{RunID: id, Brokers: o.brokers, Messages: o.messages, Warmup: o.warmup,
		Connections: o.conns, Patients: o.patients, Partitions: o.partitions, Started: time.Now(),
		LoadAvg: map[string]string{}}
	err := s.measure(ctx, o)
	s.Took = time.Since(s.Started)
	s.RSS = summarise(s.Samples, s.RSS.Start, s.RSS.End, s.RSS.Final, time.Second)
	if err != nil {
		s.Error = err.Error()
	}
	return s, err
}

func (s *summary) measure(ctx context.Context, o options) error {
	ps, err := buildPayloads(o.template, o.patients)
	if err != nil {
		return err
	}
	s.MessageSize = len(ps[0].original)
	gwPrefix, plainPrefix := "soak"+s.RunID+".", "plain"+s.RunID+"."
	s.GatewayTopic, s.PlainTopic = gwPrefix+ps[0].topic, plainPrefix+ps[0].topic
	if err := createTopics(ctx, o.brokers, o.partitions, s.GatewayTopic, gwPrefix+"hl7.dlq", s.PlainTopic); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "soak-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	g, err := startGateway(ctx, gatewaySpec{bin: o.gateway, dir: dir, brokers: o.brokers, topicPrefix: gwPrefix, partitions: o.partitions})
	if err != nil {
		return err
	}
	s.GatewayLog = g.logPath
	defer func() {
		s.GatewayExit = g.stop(60 * time.Second)
		s.LogLevels = g.logLevels()
	}()
	smp := newSampler(g.pid())
	smp.heap = func(ctx context.Context) (int64, error) {
		st, err := g.stats(ctx)
		return st.HeapInuse, err
	}
	sctx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go smp.run(sctx, time.Second)
	defer func() { s.Samples, _ = smp.snapshot() }()

	msgs := make([][]byte, len(ps))
	for i, p := range ps {
		msgs[i] = p.original
	}
	led := newLedger("S"+s.RunID, o.conns, o.messages/o.conns+1)
	if err := s.loadGateway(ctx, o, g, smp, msgs, led); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "soak: gateway %d msgs/s; reading %s back\n", int(s.Gateway.MsgsPerSec), s.GatewayTopic)
	smp.setPhase("check")
	cctx, cancel := context.WithTimeout(ctx, o.checkTimeout)
	defer cancel()
	t0 := time.Now()
	s.RecordsRead, err = checkTopic(cctx, o.brokers, s.GatewayTopic, led, 15*time.Second)
	s.CheckElapsed = time.Since(t0)
	s.Check = led.verdict()
	if err != nil {
		return err
	}

	smp.setPhase("plain")
	fmt.Fprintf(os.Stderr, "soak: plain producer, %d messages\n", o.messages)
	if o.warmup > 0 {
		if _, err := plainProduce(ctx, o.brokers, s.PlainTopic, ps, o.warmup, o.conns, "W"+s.RunID); err != nil {
			return fmt.Errorf("plain warm-up: %w", err)
		}
	}
	s.LoadAvg["plain_start"] = loadAvg()
	s.Plain, err = plainProduce(ctx, o.brokers, s.PlainTopic, ps, o.messages, o.conns, "S"+s.RunID)
	s.LoadAvg["plain_end"] = loadAvg()
	if err != nil {
		return err
	}
	s.Ratio = s.Gateway.MsgsPerSec / s.Plain.MsgsPerSec
	smp.setPhase("final")
	s.RSS.Final, _ = smp.take()
	return nil
}

// loadGateway warms the gateway up, then sends the measured messages with
// the ledger recording every answer, then lets it idle for o.settle; it
// fills s.Gateway, the RSS start/end and the runtime stats.
func (s *summary) loadGateway(ctx context.Context, o options, g *gatewayProc, smp *sampler, msgs [][]byte, led *ledger) error {
	smp.setPhase("warmup")
	lo := loadgen.Options{Addr: g.mllp, Messages: msgs, Connections: o.conns, Timeout: o.timeout, UniqueControlIDs: true}
	if o.warmup > 0 {
		w := lo
		w.Count, w.ControlIDPrefix = o.warmup, "W"+s.RunID
		rep, err := loadgen.Run(ctx, w)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if rep.Codes["AA"] != rep.Sent {
			return fmt.Errorf("warm-up: %s, want only AA", rep)
		}
	}
	start, err := smp.take()
	if err != nil {
		return err
	}
	s.RSS.Start = start
	s.RuntimeStart, _ = g.stats(ctx)
	smp.setPhase("load")
	fmt.Fprintf(os.Stderr, "soak: gateway, %d messages over %d connections (RSS %.1f MiB)\n", o.messages, o.conns, mib(start))
	m := lo
	m.Count, m.ControlIDPrefix, m.OnAck = o.messages, "S"+s.RunID, led.answer
	pctx, stopProgress := context.WithCancel(ctx)
	go progress(pctx, led, smp, o.messages)
	s.LoadAvg["gateway_start"] = loadAvg()
	rep, err := loadgen.Run(ctx, m)
	s.LoadAvg["gateway_end"] = loadAvg()
	stopProgress()
	s.Gateway = pathResult{Messages: rep.Answered, Errors: rep.Errors, Elapsed: rep.Elapsed,
		MsgsPerSec: rep.MsgsPerSec, P50: rep.P50, P99: rep.P99, Max: rep.Max, Codes: rep.Codes}
	if err != nil {
		return fmt.Errorf("gateway load: %w", err)
	}
	smp.setPhase("settle")
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.settle):
	}
	if s.RSS.End, err = smp.take(); err != nil {
		return err
	}
	s.RuntimeEnd, _ = g.stats(ctx)
	return nil
}

// progress prints the answers so far and the gateway's RSS every 30s
// until ctx ends.
func progress(ctx context.Context, led *ledger, smp *sampler, total int) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := led.answered.Load()
		var rss int64
		if ss, _ := smp.snapshot(); len(ss) > 0 {
			rss = ss[len(ss)-1].RSS
		}
		fmt.Fprintf(os.Stderr, "soak: %s: %d/%d answered (%.0f msgs/s), gateway RSS %.1f MiB\n",
			time.Since(start).Round(time.Second), n, total, float64(n)/time.Since(start).Seconds(), mib(rss))
	}
}

// loadAvg returns the 1, 5 and 15 minute load averages ("" if unreadable).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
