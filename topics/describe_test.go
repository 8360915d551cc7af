package topics

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Right after a topic is created, the broker asked for its configuration
// may not know it yet and answers UNKNOWN_TOPIC_OR_PARTITION: the real
// 3-broker suite once saw a freshly created topic reported with
// "min.insync.replicas could not be read". Ensure asks again; only an
// error that stays is reported.
func TestEnsureAsksAgainForAConfigurationNotYetKnown(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      *kerr.Error
		count    int
		wantWarn bool
	}{
		{"a topic the broker does not know yet for two answers is read on the third", kerr.UnknownTopicOrPartition, 2, false},
		{"a topic the broker never knows stays a warning", kerr.UnknownTopicOrPartition, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "hl7.adt.a01"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			f := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.DescribeConfigs}, Err: tc.err, Count: tc.count})
			defer f.Remove()
			rep, err := Ensure(ctx, adm, []Spec{{Name: "hl7.adt.a01", Partitions: 1, ReplicationFactor: 1, MinInsyncReplicas: 1}}, false)
			if err != nil {
				t.Fatal(err)
			}
			warned := false
			for _, p := range rep.Topics[0].Problems {
				if p.Code == CodeMinInsyncUnknown {
					warned = true
				}
			}
			if warned != tc.wantWarn {
				t.Errorf("min_insync_replicas_unknown reported %v, want %v: %s", warned, tc.wantWarn, rep)
			}
		})
	}
}
