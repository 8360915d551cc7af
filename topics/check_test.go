package topics

import (
	"reflect"
	"strings"
	"testing"
)

func codes(ps []Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, string(p.Level)+":"+p.Code)
	}
	return out
}

func TestCheck(t *testing.T) {
	durable := Spec{Name: "hl7.adt.a01", Partitions: 6, ReplicationFactor: 3, MinInsyncReplicas: 2}
	tests := []struct {
		name string
		spec Spec
		obs  Observed
		want []string
	}{
		{"a missing topic is an error with a create hint", durable, Observed{},
			[]string{"error:missing"}},
		{"a durable topic as configured has no problems", durable,
			Observed{Exists: true, Partitions: 6, ReplicationFactor: 3, MinInsyncReplicas: 2}, []string{}},
		{"more partitions than configured is fine", durable,
			Observed{Exists: true, Partitions: 12, ReplicationFactor: 3, MinInsyncReplicas: 2}, []string{}},
		{"fewer partitions than configured is a warning", durable,
			Observed{Exists: true, Partitions: 3, ReplicationFactor: 3, MinInsyncReplicas: 2}, []string{"warning:partitions"}},
		{"replication factor 1 warns below spec, min.insync below spec and unprotected acks=all", durable,
			Observed{Exists: true, Partitions: 6, ReplicationFactor: 1, MinInsyncReplicas: 1},
			[]string{"warning:replication_factor", "warning:min_insync_replicas", "warning:acks_all_unprotected"}},
		{"min.insync.replicas 1 with RF 3 leaves acks=all unprotected", Spec{Name: "t"},
			Observed{Exists: true, Partitions: 1, ReplicationFactor: 3, MinInsyncReplicas: 1},
			[]string{"warning:acks_all_unprotected"}},
		{"min.insync.replicas below the spec is a warning", durable,
			Observed{Exists: true, Partitions: 6, ReplicationFactor: 3, MinInsyncReplicas: 1},
			[]string{"warning:min_insync_replicas", "warning:acks_all_unprotected"}},
		{"min.insync.replicas above RF is an error: no write can succeed", Spec{Name: "t"},
			Observed{Exists: true, Partitions: 1, ReplicationFactor: 2, MinInsyncReplicas: 3},
			[]string{"error:min_insync_replicas_above_rf", "warning:acks_all_unprotected"}},
		{"min.insync.replicas equal to RF means one broker down stops writes", Spec{Name: "t"},
			Observed{Exists: true, Partitions: 1, ReplicationFactor: 3, MinInsyncReplicas: 3},
			[]string{"warning:no_fault_tolerance"}},
		{"an unreadable min.insync.replicas is a warning and RF still judged", Spec{Name: "t"},
			Observed{Exists: true, Partitions: 1, ReplicationFactor: 3},
			[]string{"warning:min_insync_replicas_unknown"}},
		{"an unreadable min.insync.replicas with RF 1 also warns about acks=all", Spec{Name: "t"},
			Observed{Exists: true, Partitions: 1, ReplicationFactor: 1},
			[]string{"warning:min_insync_replicas_unknown", "warning:acks_all_unprotected"}},
		{"zero spec counts are not checked", Spec{Name: "t"},
			Observed{Exists: true, Partitions: 1, ReplicationFactor: 5, MinInsyncReplicas: 3}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codes(Check(tt.spec, tt.obs))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Check = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckHintsNameTheTopicAndSettings(t *testing.T) {
	s := Spec{Name: "hl7.oru.r01", Partitions: 6, ReplicationFactor: 3, MinInsyncReplicas: 2}
	ps := Check(s, Observed{})
	h := ps[0].Hint
	for _, want := range []string{"--topic hl7.oru.r01", "--partitions 6", "--replication-factor 3", "min.insync.replicas=2", "kafka.topics.create"} {
		if !strings.Contains(h, want) {
			t.Errorf("hint %q lacks %q", h, want)
		}
	}
	ps = Check(s, Observed{Exists: true, Partitions: 6, ReplicationFactor: 3, MinInsyncReplicas: 1})
	if !strings.Contains(ps[0].Hint, "--entity-name hl7.oru.r01 --add-config min.insync.replicas=2") {
		t.Errorf("min.insync hint = %q", ps[0].Hint)
	}
}

func TestReportCountsAndRenders(t *testing.T) {
	r := Report{Topics: []TopicReport{
		{Spec: Spec{Name: "a"}, Created: true},
		{Spec: Spec{Name: "b"}, Problems: []Problem{{Level: LevelWarning, Code: CodeAcksAllUnsafe, Detail: "weak"}}},
	}}
	if r.HasErrors() || r.Warnings() != 1 {
		t.Fatalf("HasErrors=%v Warnings=%d", r.HasErrors(), r.Warnings())
	}
	want := "a: created\nb: warning acks_all_unprotected: weak"
	if got := r.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	r.Topics[1].Problems = append(r.Topics[1].Problems, Problem{Level: LevelError, Code: CodeMissing})
	if !r.HasErrors() {
		t.Fatal("HasErrors = false with an error problem")
	}
	if got := (Report{}).String(); got != "topics ok" {
		t.Fatalf("empty report = %q", got)
	}
}
