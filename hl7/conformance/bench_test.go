package conformance

import (
	"testing"
	"time"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/cputime"
)

// BenchmarkStrictValidate measures parse + strict validation (charset
// included) over the valid corpus files, batches split; SetBytes is the
// corpus size so the result reads in MB/s.
func BenchmarkStrictValidate(b *testing.B) {
	v, err := New(Options{Strict: true})
	if err != nil {
		b.Fatal(err)
	}
	var msgs [][]byte
	size := 0
	for _, cf := range loadCorpus(b) {
		if !cf.valid {
			continue
		}
		raw := readCorpus(b, cf)
		size += len(raw)
		if hl7.IsBatch(raw) {
			bt, err := hl7.SplitBatch(raw)
			if err != nil {
				b.Fatal(err)
			}
			msgs = append(msgs, bt.Messages...)
			continue
		}
		msgs = append(msgs, raw)
	}
	for _, raw := range msgs { // load every version's tables before timing
		if m, err := hl7.Parse(raw); err == nil {
			v.Validate(m)
		}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuNow()
	for b.Loop() {
		for _, raw := range msgs {
			m, err := hl7.Parse(raw)
			if err != nil {
				b.Fatal(err)
			}
			_ = v.Validate(m)
			_, _ = v.Charset(m)
		}
	}
	// On a shared machine wall-clock MB/s mostly measures the neighbours;
	// cpu-MB/s divides by the CPU time this process got.
	if d := cpuNow() - cpu0; d > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/d.Seconds()/1e6, "cpu-MB/s")
	}
}

// cpuNow is the process's CPU time so far (zero where it is unknown).
func cpuNow() time.Duration {
	d, _ := cputime.Process()
	return d
}
