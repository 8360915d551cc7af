package v2fhir

import (
	"testing"
	"time"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/cputime"
)

// BenchmarkConvert converts each golden message (one per supported type
// and event) from its parsed form: the conversion's own cost per message,
// parsing excluded (BenchmarkParseAndConvert includes it).
func BenchmarkConvert(b *testing.B) {
	for _, tc := range goldenCases {
		raw := mustRead(b, corpusFile(tc.file))
		msg, err := hl7.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.event+"/"+tc.file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			cpu0, ok := cputime.Process()
			for b.Loop() {
				if _, err := Convert(msg, testOptions); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu0, ok)
		})
	}
}

// BenchmarkParseAndConvert is parse, convert and the transaction Bundle:
// what `gateway convert -compact` does per message.
func BenchmarkParseAndConvert(b *testing.B) {
	for _, tc := range goldenCases {
		raw := mustRead(b, corpusFile(tc.file))
		b.Run(tc.event+"/"+tc.file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			cpu0, ok := cputime.Process()
			for b.Loop() {
				msg, err := hl7.Parse(raw)
				if err != nil {
					b.Fatal(err)
				}
				res, err := Convert(msg, testOptions)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := res.Bundle(); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu0, ok)
		})
	}
}

// reportCPU adds the process's CPU time per operation (user+system, the
// garbage collector's included): on a shared, overloaded machine wall
// time per operation says more about the neighbours than about the code.
func reportCPU(b *testing.B, cpu0 time.Duration, ok bool) {
	cpu1, ok1 := cputime.Process()
	if !ok || !ok1 || cpu1 <= cpu0 {
		return
	}
	b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
}
