package loadgen

import (
	"math/bits"
	"time"
)

// subBits is the number of significant bits kept per power of two: 128
// sub-buckets, so a bucket is at most 1/128 (< 0.8 %) of its value wide.
const subBits = 7

const (
	subCount   = 1 << subBits
	numBuckets = (64 - subBits) * subCount
)

// histogram is an HDR-like log-bucketed latency histogram with fixed size
// (~58 KiB) whatever the number of values, and exact values below 128 ns.
// It is not safe for concurrent use: each connection keeps its own and they
// are merged at the end.
type histogram struct {
	counts [numBuckets]uint64
	total  uint64
	max    time.Duration
}

// bucket returns the bucket index of v (v >= 0).
func bucket(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketMid returns a representative value of bucket i: its middle.
func bucketMid(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	low := uint64(i%subCount+subCount) << shift
	return low + (uint64(1)<<shift)/2
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucket(uint64(d))]++
	h.total++
	if d > h.max {
		h.max = d
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	if o.max > h.max {
		h.max = o.max
	}
}

// quantile returns the value at quantile q (0 < q <= 1) within the
// histogram's precision, never above the maximum; 0 when empty.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketMid(i)), h.max)
		}
	}
	return h.max
}
