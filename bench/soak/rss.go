package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is one reading of the gateway's resident set size.
type sample struct {
	At    time.Duration `json:"at_ns"` // since the sampler started
	RSS   int64         `json:"rss_bytes"`
	Phase string        `json:"phase"`
	// HeapInuse is the Go heap in use from the gateway's /metrics, read
	// every heapEvery samples (0 in the others or when the scrape failed).
	HeapInuse int64 `json:"heap_inuse_bytes,omitempty"`
}

// heapEvery is how many RSS samples pass between two heap scrapes.
const heapEvery = 5

// sampler reads /proc/<pid>/status VmRSS every interval, tagging each
// reading with the current phase, and every heapEvery readings the Go heap
// in use through heap (when set). A failed RSS read (the process is gone)
// ends the sampling; the error is kept for the report.
type sampler struct {
	pid   int
	start time.Time
	heap  func(context.Context) (int64, error)

	mu      sync.Mutex
	phase   string
	samples []sample
	err     error
}

func newSampler(pid int) *sampler {
	return &sampler{pid: pid, start: time.Now(), phase: "start"}
}

// run samples until ctx ends.
func (s *sampler) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 0; ; n++ {
		if _, err := s.take(); err != nil {
			return
		}
		if s.heap != nil && n%heapEvery == 0 {
			if h, err := s.heap(ctx); err == nil {
				s.setHeap(h)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// take reads the RSS now, records it under the current phase and returns it.
func (s *sampler) take() (int64, error) {
	rss, err := readRSS(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return 0, err
	}
	s.samples = append(s.samples, sample{At: time.Since(s.start), RSS: rss, Phase: s.phase})
	return rss, nil
}

// setHeap adds the heap in use to the last sample.
func (s *sampler) setHeap(h int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.samples); n > 0 {
		s.samples[n-1].HeapInuse = h
	}
}

// setPhase tags the following samples.
func (s *sampler) setPhase(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phase = p
}

// snapshot returns a copy of the samples so far and the first read error.
func (s *sampler) snapshot() ([]sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sample(nil), s.samples...), s.err
}

// readRSS returns VmRSS of process pid in bytes.
func readRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	defer f.Close()
	return parseVmRSS(f)
}

// parseVmRSS finds "VmRSS:  <n> kB" in a /proc/<pid>/status text.
func parseVmRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("read rss: unexpected VmRSS line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read rss: %w", err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	return 0, fmt.Errorf("read rss: no VmRSS line (kernel thread or exited)")
}

// rssReport summarises the samples of the gateway under load.
type rssReport struct {
	Start int64 `json:"start_bytes"` // after warm-up, as the measured load starts
	Peak  int64 `json:"peak_bytes"`  // highest sample from the load start to End
	End   int64 `json:"end_bytes"`   // after the load and the settle pause
	// Final is read after the plain producer's phase, with the gateway
	// idle the whole time.
	Final int64 `json:"final_bytes"`
	// FirstQuarter and LastQuarter are the mean RSS of the first and last
	// quarter of the load phase's samples; Slope is the least-squares
	// slope over the load phase.
	FirstQuarter    float64 `json:"first_quarter_mean_bytes"`
	LastQuarter     float64 `json:"last_quarter_mean_bytes"`
	SlopePerMinute  float64 `json:"slope_bytes_per_minute"`
	LoadSamples     int     `json:"load_samples"`
	GrowthPercent   float64 `json:"last_vs_first_quarter_percent"`
	SamplesInterval string  `json:"sample_interval"`
	// Heap* are the same over the load phase's heap scrapes: a leak shows
	// in the heap in use, while RSS also holds freed pages the runtime
	// has not yet returned to the OS.
	HeapFirstQuarter float64 `json:"heap_first_quarter_mean_bytes"`
	HeapLastQuarter  float64 `json:"heap_last_quarter_mean_bytes"`
	HeapPeak         int64   `json:"heap_peak_bytes"`
}

// summarise computes the report from the samples of phase "load" (the
// measured run) and the explicit start/end readings.
func summarise(samples []sample, start, end, final int64, every time.Duration) rssReport {
	r := rssReport{Start: start, End: end, Final: final, Peak: max(start, end), SamplesInterval: every.String()}
	var load, heap []sample
	for _, s := range samples {
		if s.Phase == "load" || s.Phase == "settle" {
			r.Peak = max(r.Peak, s.RSS)
		}
		if s.Phase == "load" {
			load = append(load, s)
			if s.HeapInuse > 0 {
				heap = append(heap, sample{At: s.At, RSS: s.HeapInuse})
				r.HeapPeak = max(r.HeapPeak, s.HeapInuse)
			}
		}
	}
	if len(heap) >= 4 {
		r.HeapFirstQuarter, r.HeapLastQuarter = quarterMeans(heap)
	}
	r.LoadSamples = len(load)
	if len(load) < 4 {
		return r
	}
	r.FirstQuarter, r.LastQuarter = quarterMeans(load)
	r.GrowthPercent = 100 * (r.LastQuarter - r.FirstQuarter) / r.FirstQuarter
	r.SlopePerMinute = slope(load) * 60
	return r
}

// quarterMeans returns the mean RSS of the first and the last quarter of s
// (at least 4 samples).
func quarterMeans(s []sample) (first, last float64) {
	q := len(s) / 4
	return mean(s[:q]), mean(s[len(s)-q:])
}

func mean(s []sample) float64 {
	var sum float64
	for _, x := range s {
		sum += float64(x.RSS)
	}
	return sum / float64(len(s))
}

// slope is the least-squares slope of RSS over time, in bytes per second.
func slope(s []sample) float64 {
	n := float64(len(s))
	var sx, sy, sxx, sxy float64
	for _, p := range s {
		x, y := p.At.Seconds(), float64(p.RSS)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}
