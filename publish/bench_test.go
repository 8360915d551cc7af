package publish

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
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
