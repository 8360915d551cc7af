package topics

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fakeAdmin starts a kfake cluster (real Kafka protocol over TCP) and
// returns an admin client for it.
func fakeAdmin(t *testing.T, opts ...kfake.Opt) *kadm.Client {
	t.Helper()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func TestEnsureAgainstKfake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := fakeAdmin(t, kfake.NumBrokers(1), kfake.SeedTopics(2, "hl7.adt.a01"))
	specs := []Spec{
		{Name: "hl7.adt.a01", Partitions: 2, ReplicationFactor: 1},
		{Name: "hl7.oru.r01", Partitions: 3, ReplicationFactor: 1, MinInsyncReplicas: 1},
	}

	rep, err := Ensure(ctx, adm, specs, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := codes(rep.Topics[1].Problems); len(got) != 1 || got[0] != "error:missing" {
		t.Fatalf("missing topic without create: %v", got)
	}
	if !rep.HasErrors() {
		t.Fatal("a missing topic must make the report fail")
	}
	if o := rep.Topics[0].Observed; !o.Exists || o.Partitions != 2 || o.ReplicationFactor != 1 || o.MinInsyncReplicas != 1 {
		t.Fatalf("seeded topic observed as %+v", o)
	}
	if got := codes(rep.Topics[0].Problems); len(got) != 1 || got[0] != "warning:acks_all_unprotected" {
		t.Fatalf("RF 1 topic problems: %v", got)
	}

	rep, err = Ensure(ctx, adm, specs, true)
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Topics[1]
	if !tr.Created || tr.Observed.Partitions != 3 || tr.Observed.ReplicationFactor != 1 || tr.Observed.MinInsyncReplicas != 1 {
		t.Fatalf("created topic report %+v", tr)
	}
	if rep.HasErrors() {
		t.Fatalf("after create: %s", rep)
	}

	rep, err = Ensure(ctx, adm, specs, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Topics[1].Created {
		t.Fatal("an existing topic was created again")
	}
}

func TestEnsureReportsRefusedCreation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := fakeAdmin(t, kfake.NumBrokers(1))
	rep, err := Ensure(ctx, adm, []Spec{{Name: "hl7.adt.a01", Partitions: 1, ReplicationFactor: 3}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := codes(rep.Topics[0].Problems); len(got) != 1 || got[0] != "error:create_failed" {
		t.Fatalf("RF 3 on one broker: %v (%s)", got, rep)
	}
}

func TestEnsureFailsWhenNoBrokerAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"), kgo.RetryTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := Ensure(ctx, kadm.NewClient(cl), []Spec{{Name: "x"}}, false); err == nil {
		t.Fatal("Ensure without a reachable broker returned no error")
	}
}

func TestACompactedTopicIsCreatedCompactedAndADeletePolicyOneIsAnError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := fakeAdmin(t, kfake.NumBrokers(1), kfake.SeedTopics(1, "state.plain"))
	specs := []Spec{
		{Name: "state.new", Partitions: 1, ReplicationFactor: 1, Compact: true},
		{Name: "state.plain", Partitions: 1, ReplicationFactor: 1, Compact: true},
		{Name: "state.expiring", Partitions: 2, ReplicationFactor: 1, Compact: true, Retention: time.Hour},
	}
	rep, err := Ensure(ctx, adm, specs, true)
	if err != nil {
		t.Fatal(err)
	}
	if tr := rep.Topics[0]; !tr.Created || tr.Observed.CleanupPolicy != "compact" || slices.Contains(codes(tr.Problems), "error:not_compacted") {
		t.Fatalf("created compacted topic: %+v", tr)
	}
	if got := codes(rep.Topics[1].Problems); !slices.Contains(got, "error:not_compacted") {
		t.Fatalf("a delete-policy topic with a compacted spec: %v (observed %+v)", got, rep.Topics[1].Observed)
	}
	if tr := rep.Topics[2]; !tr.Created || tr.Observed.CleanupPolicy != "compact,delete" || rep.Topics[2].Problems != nil && slices.Contains(codes(tr.Problems), "error:not_compacted") {
		t.Fatalf("created compacted topic with retention: %+v", tr)
	}
	rep, err = Ensure(ctx, adm, specs[:1], false)
	if err != nil {
		t.Fatal(err)
	}
	if o := rep.Topics[0].Observed; o.CleanupPolicy != "compact" || rep.HasErrors() {
		t.Fatalf("re-read compacted topic: %+v %s", o, rep)
	}
}
