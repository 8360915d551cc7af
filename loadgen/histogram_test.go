package loadgen

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinOnePercent(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{name: "sub-millisecond latencies", gen: func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(900_000)) + 100 }},
		{name: "latencies spread over six decades", gen: func(r *rand.Rand) time.Duration {
			return time.Duration(float64(time.Microsecond) * float64(r.IntN(1_000_000)+1))
		}},
		{name: "tiny values below the exact threshold", gen: func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(128)) }},
		{name: "one hot value", gen: func(*rand.Rand) time.Duration { return 1234567 * time.Nanosecond }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h histogram
			vals := make([]time.Duration, 20000)
			for i := range vals {
				vals[i] = tt.gen(r)
				h.record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.5, 0.9, 0.99, 1} {
				exact := vals[int(q*float64(len(vals))+0.5)-1]
				got := h.quantile(q)
				if diff := float64(got-exact) / float64(max(exact, 1)); diff > 0.01 || diff < -0.01 {
					if got-exact > 1 || exact-got > 1 {
						t.Errorf("q%.2f = %v, exact %v (%.2f%% off)", q, got, exact, 100*diff)
					}
				}
			}
			if h.max != vals[len(vals)-1] {
				t.Errorf("max = %v, want %v", h.max, vals[len(vals)-1])
			}
		})
	}
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	var a, b, empty histogram
	if empty.quantile(0.5) != 0 {
		t.Fatal("empty histogram has a median")
	}
	for range 99 {
		a.record(time.Millisecond)
	}
	b.record(time.Second)
	a.merge(&b)
	if a.total != 100 || a.max != time.Second {
		t.Fatalf("merged total %d max %v", a.total, a.max)
	}
	if p50 := a.quantile(0.5); p50 < 990*time.Microsecond || p50 > 1010*time.Microsecond {
		t.Fatalf("p50 = %v, want about 1ms", p50)
	}
	if a.quantile(1) != time.Second {
		t.Fatalf("p100 = %v, want the max", a.quantile(1))
	}
}

func TestHistogramBucketsAreMonotonic(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<20; v += 1 + v/1000 {
		b := bucket(v)
		if b < prev {
			t.Fatalf("bucket(%d) = %d < %d", v, b, prev)
		}
		prev = b
		if mid := bucketMid(b); float64(mid) < float64(v)*0.99 || float64(mid) > float64(v)*1.01+1 {
			t.Fatalf("bucketMid(bucket(%d)) = %d", v, mid)
		}
	}
	if b := bucket(1<<63 - 1); b >= numBuckets {
		t.Fatalf("bucket(max int64) = %d, out of %d", b, numBuckets)
	}
}
