package hl7

import (
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/cputime"
	"github.com/hl7gw/gateway/validation"
)

// validMessages returns every message of testdata/corpus/valid (batches
// split) and their total size.
func validMessages(b *testing.B) ([][]byte, int64) {
	_, data := corpusFiles(b, "valid")
	var msgs [][]byte
	var n int64
	for _, raw := range data {
		if IsBatch(raw) {
			bt, err := SplitBatch(raw)
			if err != nil {
				b.Fatal(err)
			}
			msgs = append(msgs, bt.Messages...)
		} else {
			msgs = append(msgs, raw)
		}
		n += int64(len(raw))
	}
	return msgs, n
}

// BenchmarkParse is the hot path of the HL7 door: lenient Parse, the MSH
// header and PID-3 for the partition key, over the whole valid corpus per
// iteration. Target: >= 300 MB/s on one core.
func BenchmarkParse(b *testing.B) {
	msgs, size := validMessages(b)
	b.SetBytes(size)
	b.ReportAllocs()
	cpu0, cpuOK := cputime.Process()
	for b.Loop() {
		for _, raw := range msgs {
			m, err := Parse(raw)
			if err != nil {
				b.Fatal(err)
			}
			h := m.Header()
			id, _ := m.GetRaw("PID-3(1).1")
			auth, _ := m.GetRaw("PID-3(1).4")
			if h.MessageType == "" || len(id)+len(auth) < 0 {
				b.Fatal("no message type")
			}
		}
	}
	b.ReportMetric(float64(len(msgs)), "msgs/op")
	reportCPUThroughput(b, size, cpu0, cpuOK)
}

// reportCPUThroughput adds MB per CPU second (process user+system time,
// GC included), meaningful with -cpu=1 on a busy machine.
func reportCPUThroughput(b *testing.B, size int64, cpu0 time.Duration, ok bool) {
	cpu1, ok1 := cputime.Process()
	if !ok || !ok1 || cpu1 <= cpu0 {
		return
	}
	b.ReportMetric(float64(size)*float64(b.N)/1e6/(cpu1-cpu0).Seconds(), "MB/cpu-s")
}

// BenchmarkParseOnly measures Parse alone.
func BenchmarkParseOnly(b *testing.B) {
	msgs, size := validMessages(b)
	b.SetBytes(size)
	b.ReportAllocs()
	cpu0, cpuOK := cputime.Process()
	for b.Loop() {
		for _, raw := range msgs {
			if _, err := Parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportCPUThroughput(b, size, cpu0, cpuOK)
}

// BenchmarkBuildACK measures an AE acknowledgement with two ERR segments.
func BenchmarkBuildACK(b *testing.B) {
	m, err := Parse([]byte("MSH|^~\\&|LAB|HOSP|GW|GWF|20240101||ADT^A01^ADT_A01|MSG1|P|2.5\rPID|1\r"))
	if err != nil {
		b.Fatal(err)
	}
	opts := ACKOptions{Code: "AE", ControlID: "A1", Time: time.Unix(0, 0), Findings: validation.Findings{
		{Severity: validation.SeverityError, Code: validation.CodeRequiredMissing, Location: "PID-3"},
		{Severity: validation.SeverityWarning, Code: validation.CodeTableValue, Location: "PID-8"},
	}}
	b.ReportAllocs()
	for b.Loop() {
		BuildACK(m, opts)
	}
}
