package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/hl7gw/gateway/topics"
)

func TestTopicsEnsureCreatesDurableTopicsOnRealKafka(t *testing.T) {
	c := need(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm := c.AdminClient(t)
	specs := []topics.Spec{
		{Name: "hl7.adt.a01.ensure", Partitions: 3, ReplicationFactor: 3, MinInsyncReplicas: 2},
		{Name: "fhir.patient.created.ensure", Partitions: 2, ReplicationFactor: 3, MinInsyncReplicas: 2},
	}

	rep, err := topics.Ensure(ctx, adm, specs, false)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.HasErrors() || rep.Topics[0].Problems[0].Code != topics.CodeMissing {
		t.Fatalf("without create, missing topics must be errors: %s", rep)
	}

	rep, err = topics.Ensure(ctx, adm, specs, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range rep.Topics {
		want := topics.Observed{Exists: true, Partitions: tr.Spec.Partitions, ReplicationFactor: 3, MinInsyncReplicas: 2, CleanupPolicy: "delete"}
		if !tr.Created || tr.Observed != want || len(tr.Problems) != 0 {
			t.Fatalf("%s: created %v observed %+v problems %v", tr.Spec.Name, tr.Created, tr.Observed, tr.Problems)
		}
	}

	rep, err = topics.Ensure(ctx, adm, specs, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Topics[0].Created || rep.HasErrors() || rep.Warnings() != 0 {
		t.Fatalf("second Ensure: %s", rep)
	}
}

func TestTopicsEnsureWarnsAboutWeakTopicsOnRealKafka(t *testing.T) {
	c := need(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm := c.AdminClient(t)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "hl7.weak.rf1"); err != nil {
		t.Fatal(err)
	}
	three := "3"
	if _, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": &three}, "hl7.weak.isr3"); err != nil {
		t.Fatal(err)
	}
	rep, err := topics.Ensure(ctx, adm, []topics.Spec{{Name: "hl7.weak.rf1"}, {Name: "hl7.weak.isr3"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, tr := range rep.Topics {
		for _, p := range tr.Problems {
			got[tr.Spec.Name] = append(got[tr.Spec.Name], p.Code)
		}
	}
	if len(got["hl7.weak.rf1"]) != 1 || got["hl7.weak.rf1"][0] != topics.CodeAcksAllUnsafe {
		t.Errorf("RF 1 topic (broker default min.insync.replicas 1): %v", got["hl7.weak.rf1"])
	}
	if len(got["hl7.weak.isr3"]) != 1 || got["hl7.weak.isr3"][0] != topics.CodeNoFaultTolerance {
		t.Errorf("RF 3 min.insync 3 topic: %v", got["hl7.weak.isr3"])
	}
}

func TestTopicsEnsureAsGatewayReportsRefusedTopics(t *testing.T) {
	c := need(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := topics.Ensure(ctx, kadmFor(t, c), []topics.Spec{
		{Name: "audit.not.granted", Partitions: 1, ReplicationFactor: 3, MinInsyncReplicas: 2},
		{Name: "hl7.granted.create", Partitions: 1, ReplicationFactor: 3, MinInsyncReplicas: 2},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Topics[0].Problems; len(p) != 1 || p[0].Code != topics.CodeUnauthorized {
		t.Errorf("topic without ACL: %v", p)
	}
	if tr := rep.Topics[1]; !tr.Created || len(tr.Problems) != 0 {
		t.Errorf("topic with a CREATE ACL for the prefix: %+v", tr)
	}
}
