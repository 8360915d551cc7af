package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// print writes the human summary: the two paths side by side, the ratio,
// the invariant and the gateway's memory.
func (s *summary) print(w io.Writer) {
	fmt.Fprintf(w, "\nsoak %s: %d messages (+%d warm-up) of %d bytes, %d connections, %d patients; brokers %s\n",
		s.RunID, s.Messages, s.Warmup, s.MessageSize, s.Connections, s.Patients, strings.Join(s.Brokers, ","))
	fmt.Fprintf(w, "topics: %s, %s: %d partitions, RF 3, min.insync.replicas 2\n\n", s.GatewayTopic, s.PlainTopic, s.Partitions)
	fmt.Fprintf(w, "%-8s %10s %10s %10s %10s %10s %8s\n", "path", "msgs", "msgs/s", "p50", "p99", "max", "errors")
	for _, p := range []struct {
		name string
		r    pathResult
	}{{"gateway", s.Gateway}, {"plain", s.Plain}} {
		fmt.Fprintf(w, "%-8s %10d %10.0f %10s %10s %10s %8d\n", p.name, p.r.Messages, p.r.MsgsPerSec,
			ms(p.r.P50), ms(p.r.P99), ms(p.r.Max), p.r.Errors)
	}
	fmt.Fprintf(w, "ratio gateway/plain msgs/s: %.2f\n\n", s.Ratio)

	c := s.Check
	fmt.Fprintf(w, "answers: %s\n", codes(c.Answers))
	fmt.Fprintf(w, "invariant: %d records read in %s; AA without a record: %d; duplicates: %d; stored without AA: %d; other records: %d\n",
		s.RecordsRead, s.CheckElapsed.Round(time.Millisecond), c.AAMissing, c.Duplicates, c.StoredNotAA, c.Foreign)
	if len(c.MissingSample) > 0 {
		fmt.Fprintf(w, "  missing, first ones: %s\n", strings.Join(c.MissingSample, " "))
	}

	r := s.RSS
	fmt.Fprintf(w, "\ngateway RSS (MiB): start %.1f  peak %.1f  end %.1f (after %s idle)  final %.1f (after the plain phase)\n",
		mib(r.Start), mib(r.Peak), mib(r.End), settleOf(s), mib(r.Final))
	if r.LoadSamples >= 4 {
		fmt.Fprintf(w, "load phase, %d samples: first-quarter mean %.1f, last-quarter mean %.1f (%+.1f%%), slope %+.2f MiB/min\n",
			r.LoadSamples, r.FirstQuarter/(1<<20), r.LastQuarter/(1<<20), r.GrowthPercent, r.SlopePerMinute/(1<<20))
	}
	if r.HeapPeak > 0 {
		fmt.Fprintf(w, "heap in use over the load: first-quarter mean %.1f, last-quarter mean %.1f, peak %.1f MiB\n",
			r.HeapFirstQuarter/(1<<20), r.HeapLastQuarter/(1<<20), mib(r.HeapPeak))
	}
	fmt.Fprintf(w, "gateway runtime: heap in use %.1f -> %.1f MiB, goroutines %d -> %d, open fds %d -> %d\n",
		mib(s.RuntimeStart.HeapInuse), mib(s.RuntimeEnd.HeapInuse), s.RuntimeStart.Goroutines, s.RuntimeEnd.Goroutines,
		s.RuntimeStart.OpenFDs, s.RuntimeEnd.OpenFDs)
	fmt.Fprintf(w, "gateway exit after SIGTERM: %d; log %s: %s\n", s.GatewayExit, s.GatewayLog, codes(s.LogLevels))
	fmt.Fprintf(w, "load average (1/5/15 min): gateway phase %s -> %s, plain phase %s -> %s\n",
		s.LoadAvg["gateway_start"], s.LoadAvg["gateway_end"], s.LoadAvg["plain_start"], s.LoadAvg["plain_end"])
	fmt.Fprintf(w, "took %s\n", s.Took.Round(time.Second))
}

// settleOf names the idle pause between the load and the end reading.
func settleOf(s *summary) string {
	for i := len(s.Samples) - 1; i >= 0; i-- {
		if s.Samples[i].Phase == "settle" {
			var first time.Duration
			for _, x := range s.Samples {
				if x.Phase == "settle" {
					first = x.At
					break
				}
			}
			return (s.Samples[i].At - first).Round(time.Second).String()
		}
	}
	return "no"
}

// failure is the run's verdict: an error when an AA has no record, when an
// answer was not AA, or when a message had no answer.
func (s *summary) failure() error {
	var errs []error
	if s.Check.AAMissing > 0 {
		errs = append(errs, fmt.Errorf("INVARIANT BROKEN: %d messages answered AA are not in Kafka", s.Check.AAMissing))
	}
	for code, n := range s.Gateway.Codes {
		if code != "AA" {
			errs = append(errs, fmt.Errorf("%d messages answered %s", n, code))
		}
	}
	if s.Gateway.Errors > 0 {
		errs = append(errs, fmt.Errorf("%d messages got no answer", s.Gateway.Errors))
	}
	return errors.Join(errs...)
}

// writeJSON writes the summary to path.
func (s *summary) writeJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary json: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// codes renders a count map as "A=1 B=2", sorted.
func codes(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}
