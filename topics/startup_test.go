package topics

import (
	"slices"
	"testing"

	"github.com/hl7gw/gateway/config"
)

func TestStartupChecksEachDeadLetterTopicOnceAsConfigured(t *testing.T) {
	external := config.Default()
	external.Kafka.Brokers = []string{"kafka-1:9092"}
	external.Connectors = append(external.Connectors, config.Connector{Name: "lab", Type: config.TypeHL7MLLP,
		Config: map[string]string{"listen.address": ":2576"}})
	embedded := config.Default()
	created := external
	created.Kafka.Topics.Create = true
	cases := []struct {
		name               string
		cfg                config.Config
		wantCreate, single bool
		wantRF, wantMinIsr int
	}{
		{"external brokers: checked as configured, not created", external, false, false, 3, 2},
		{"kafka.topics.create: missing topics created", created, true, false, 3, 2},
		{"the embedded broker: created, one replica, min.insync.replicas unchecked", embedded, true, true, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := StartupFor(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			want, err := DeadLetterTopics(tc.cfg)
			if err != nil || len(want) == 0 {
				t.Fatalf("dead-letter topics %v, %v", want, err)
			}
			var names []string
			for _, s := range st.Specs {
				names = append(names, s.Name)
				if s.ReplicationFactor != tc.wantRF || s.MinInsyncReplicas != tc.wantMinIsr || s.Partitions != tc.cfg.Kafka.Topics.Partitions {
					t.Fatalf("spec %+v, want RF %d, min ISR %d, %d partitions", s, tc.wantRF, tc.wantMinIsr, tc.cfg.Kafka.Topics.Partitions)
				}
			}
			if !slices.Equal(names, want) || st.Create != tc.wantCreate || st.SingleNode != tc.single {
				t.Fatalf("topics %v create %v single %v, want %v %v %v", names, st.Create, st.SingleNode, want, tc.wantCreate, tc.single)
			}
		})
	}
}

func TestDeadLetterTopicsAreListedOnce(t *testing.T) {
	cfg := config.Default()
	// A second MLLP connector with the defaults shares the dead-letter topics.
	cfg.Connectors = append(cfg.Connectors, config.Connector{Name: "lab", Type: config.TypeHL7MLLP, Config: map[string]string{"listen.address": ":2576"}})
	names, err := DeadLetterTopics(cfg)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Fatalf("%s listed twice in %v", n, names)
		}
		seen[n] = true
	}
}

func TestSingleNodeStartupReportsNoReplicationWarnings(t *testing.T) {
	rep := Report{Topics: []TopicReport{{Spec: Spec{Name: "dlq"}, Problems: []Problem{
		{Level: LevelWarning, Code: "replication_factor"}, {Level: LevelError, Code: "missing"}}}}}
	for _, tc := range []struct {
		single bool
		want   int
	}{{false, 2}, {true, 1}} {
		got := Startup{SingleNode: tc.single}.Findings(rep)
		if len(got) != tc.want || got[len(got)-1].Topic != "dlq" || got[len(got)-1].Level != LevelError {
			t.Fatalf("single node %v: %v, want %d findings ending with the error", tc.single, got, tc.want)
		}
	}
}
