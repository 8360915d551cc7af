package publish

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/internal/corpus"
)

// BenchmarkPublish measures one-record publishes (the MLLP case: one
// message, one acks=all round trip) against an in-process kfake broker
// over loopback TCP, from parallel senders as a gateway has them.
func BenchmarkPublish(b *testing.B) {
	for _, atomic := range []bool{false, true} {
		name := "single"
		n := 1
		if atomic {
			name, n = "atomic-3", 3
		}
		b.Run(name, func(b *testing.B) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "hl7.adt.a01"))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			k := testKafka()
			k.Producer.Linger = 0
			p, err := New(context.Background(), k, c.ListenAddrs(), nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			value := make([]byte, 1024)
			b.SetBytes(int64(n * len(value)))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					recs := make([]*kgo.Record, n)
					for i := range recs {
						recs[i] = &kgo.Record{Topic: "hl7.adt.a01", Key: []byte("P1"), Value: value}
					}
					if _, err := p.Publish(context.Background(), recs, atomic); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkCompression compresses record batches of real HL7 messages (the
// repository's valid corpus) with each codec the gateway offers, through
// franz-go's own compressor, at the batch sizes an acks=all gateway sends:
// 1 record (one sender), 8 and 64 (records gathered while a produce
// request is in flight). It reports the compression ratio beside the cost;
// this is what the default (snappy) was chosen on.
func BenchmarkCompression(b *testing.B) {
	var msgs [][]byte
	for _, c := range corpus.Select(b, corpus.HL7, corpus.Valid) {
		msgs = append(msgs, c.Read(b))
	}
	for _, per := range []int{1, 8, 64} {
		batches := make([][]byte, len(msgs))
		for i := range batches {
			for j := range per {
				batches[i] = append(batches[i], msgs[(i*per+j)%len(msgs)]...)
			}
		}
		for _, name := range []string{"snappy", "lz4", "zstd"} {
			b.Run(fmt.Sprintf("records=%d/%s", per, name), func(b *testing.B) {
				codec, err := compression(name)
				if err != nil {
					b.Fatal(err)
				}
				c, err := kgo.DefaultCompressor(codec)
				if err != nil {
					b.Fatal(err)
				}
				var in, out int
				var buf bytes.Buffer
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					batch := batches[i%len(batches)]
					buf.Reset()
					got, _ := c.Compress(&buf, batch)
					in, out = in+len(batch), out+len(got)
				}
				b.SetBytes(int64(in / max(b.N, 1)))
				b.ReportMetric(float64(in)/float64(out), "ratio")
			})
		}
	}
}
