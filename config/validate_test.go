package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateNamesEachBadKey(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // substrings that must all appear
	}{
		{"an unknown connector type is named", func(c *Config) {
			c.Connectors = append(c.Connectors, Connector{Name: "x", Type: "ftp"})
		}, []string{"connectors[3] (x): type: unknown connector type \"ftp\""}},
		{"a duplicate connector name is named", func(c *Config) {
			c.Connectors = append(c.Connectors, Connector{Name: "grpc", Type: TypeGRPC, Config: map[string]string{"listen.address": ":9999"}})
		}, []string{"connectors[3].name: duplicate connector name \"grpc\" (also connectors[2])"}},
		{"a bad tolerance is named", func(c *Config) {
			c.Connectors[0].Config = map[string]string{"errors.tolerance": "some"}
		}, []string{"connectors[0] (hl7-mllp): config.errors.tolerance: must be all or none, got \"some\""}},
		{"acks other than all is refused", func(c *Config) { c.Kafka.Producer.Acks = "1" }, []string{"kafka.producer.acks: must be \"all\""}},
		{"unsafe acks still need idempotence off", func(c *Config) {
			c.Kafka.Producer.Acks = "1"
			c.Kafka.Producer.AllowUnsafeAcks = true
		}, []string{"kafka.producer.idempotent: needs acks=all"}},
		{"a zero delivery timeout is named", func(c *Config) { c.Kafka.Producer.DeliveryTimeout = 0 }, []string{"kafka.producer.delivery_timeout: must be positive"}},
		{"a delivery timeout below the request timeout is named", func(c *Config) { c.Kafka.Producer.DeliveryTimeout = time.Second },
			[]string{"kafka.producer.delivery_timeout: must be at least request_timeout"}},
		{"an instance id that cannot be part of a transactional id is named", func(c *Config) { c.InstanceID = "gw a/1" },
			[]string{"instance_id: letters, digits"}},
		{"an unknown dedup scope is named", func(c *Config) {
			c.Connectors[0].Config = map[string]string{"hl7.dedup.scope": "global"}
		}, []string{"config.hl7.dedup.scope: must be process or cluster"}},
		{"the dedup topic must differ from the status topic", func(c *Config) { c.Kafka.Topics.DedupTopic = c.Kafka.Topics.StatusTopic },
			[]string{"kafka.topics.dedup_topic: must be set and differ"}},
		{"a bad connector duration is named", func(c *Config) {
			c.Connectors[0].Config = map[string]string{"mllp.read.timeout": "soon"}
		}, []string{"config.mllp.read.timeout: must be a duration"}},
		{"a negative connector duration is named", func(c *Config) {
			c.Connectors[0].Config = map[string]string{"mllp.idle.timeout": "-5s"}
		}, []string{"config.mllp.idle.timeout: must be positive"}},
		{"an unknown dotted key is named", func(c *Config) {
			c.Connectors[1].Config = map[string]string{"fhir.parser.stirct": "true"}
		}, []string{"connectors[1] (fhir-rest): config.fhir.parser.stirct: unknown key for connector type fhir-rest"}},
		{"a key of another type is unknown", func(c *Config) {
			c.Connectors[1].Config = map[string]string{"mllp.read.timeout": "1s"}
		}, []string{"config.mllp.read.timeout: unknown key for connector type fhir-rest"}},
		{"the generic DLQ key is refused on grpc", func(c *Config) {
			c.Connectors[2].Config = map[string]string{"errors.deadletterqueue.topic.name": "x"}
		}, []string{"config.errors.deadletterqueue.topic.name: unknown key for connector type grpc"}},
		{"a bad boolean is named", func(c *Config) {
			c.Connectors[0].Config = map[string]string{"hl7.parser.strict": "yes please"}
		}, []string{"config.hl7.parser.strict: must be true or false"}},
		{"a FHIR version other than R4 is refused", func(c *Config) {
			c.Connectors[1].Config = map[string]string{"fhir.version": "R5"}
		}, []string{"config.fhir.version: only R4 is supported"}},
		{"a bad HL7 version is named", func(c *Config) {
			c.Connectors[0].Config = map[string]string{"hl7.version": "3.0"}
		}, []string{"config.hl7.version: must be an HL7 v2 version"}},
		{"an unknown charset is named", func(c *Config) {
			c.Connectors[0].Config = map[string]string{"hl7.charset.fallback": "klingon-8"}
		}, []string{"config.hl7.charset.fallback: unknown or unsupported charset"}},
		{"a missing profile file is named", func(c *Config) {
			c.Connectors[0].Config = map[string]string{"hl7.parser.config.file": "/nonexistent/profile.yaml"}
		}, []string{"config.hl7.parser.config.file:"}},
		{"an invalid DLQ topic name is named", func(c *Config) {
			c.Connectors[0].Config = map[string]string{"errors.deadletterqueue.topic.name": "bad topic"}
		}, []string{"config.errors.deadletterqueue.topic.name: not a valid Kafka topic name"}},
		{"a bad in-flight bound is named", func(c *Config) {
			c.Connectors[0].Config = map[string]string{"max.inflight.messages": "0"}
		}, []string{"config.max.inflight.messages: must be an integer of at least 1"}},
		{"two MLLP connectors on one address are refused", func(c *Config) {
			c.Connectors = append(c.Connectors, Connector{Name: "second", Type: TypeHL7MLLP})
		}, []string{"connectors[3] (second).config.listen.address: \":2575\" already used by connector \"hl7-mllp\""}},
		{"an unknown compression is named", func(c *Config) { c.Kafka.Producer.Compression = "brotli" }, []string{"kafka.producer.compression"}},
		{"an unknown SASL mechanism is named", func(c *Config) { c.Kafka.SASL.Mechanism = "GSSAPI" }, []string{"kafka.sasl.mechanism: must be PLAIN"}},
		{"SASL without a password is named", func(c *Config) {
			c.Kafka.SASL = SASL{Mechanism: SASLPlain, Username: "u"}
		}, []string{"kafka.sasl.password: required"}},
		{"an unknown preset is named", func(c *Config) { c.Kafka.Preset = "aws" }, []string{"kafka.preset: must be empty or \"confluent-cloud\""}},
		{"the Confluent preset needs brokers and credentials", func(c *Config) { c.Kafka.Preset = PresetConfluentCloud },
			[]string{"kafka.preset: confluent-cloud needs kafka.brokers", "kafka.sasl: preset confluent-cloud needs username"}},
		{"a half mTLS pair is named", func(c *Config) { c.Kafka.TLS.CertFile = "c.pem" }, []string{"kafka.tls.cert_file, kafka.tls.key_file"}},
		{"a bad TLS version is named", func(c *Config) { c.Kafka.TLS.MinVersion = "1.0" }, []string{"kafka.tls.min_version"}},
		{"a bad broker address is named", func(c *Config) { c.Kafka.Brokers = []string{"ok:9092", "nope"} }, []string{"kafka.brokers[1]: not a host:port"}},
		{"a bad listen address is named", func(c *Config) { c.MLLPAddr = "2575" }, []string{"mllp_addr: not a host:port"}},
		{"the embedded broker needs a host", func(c *Config) { c.EmbeddedKafkaAddr = ":9092" }, []string{"embedded_kafka_addr: needs a host"}},
		{"a bad log level is named", func(c *Config) { c.Log.Level = "loud" }, []string{"log.level"}},
		{"a bad log format is named", func(c *Config) { c.Log.Format = "xml" }, []string{"log.format"}},
		{"min ISR above the replication factor is named", func(c *Config) { c.Kafka.Topics.MinInsyncReplicas = 4 }, []string{"kafka.topics.min_insync_replicas"}},
		{"several problems are all reported", func(c *Config) {
			c.Kafka.Producer.Acks = "0"
			c.Log.Level = "x"
			c.Kafka.Producer.Linger = -time.Second
		}, []string{"kafka.producer.acks", "log.level", "kafka.producer.linger"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestDecodeErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"a bad duration names its key", "kafka:\n  producer:\n    linger: 5 parsecs\n", "kafka.producer.linger (line 3)"},
		{"an unknown top-level key is named", "mllp_adr: \":1\"\n", "mllp_adr (line 1): unknown key"},
		{"an unknown nested key is named", "kafka:\n  sasl:\n    pasword: x\n", "kafka.sasl.pasword (line 3): unknown key"},
		{"a wrong type names its key", "kafka:\n  topics:\n    partitions: many\n", "kafka.topics.partitions (line 3)"},
		{"a bad reference names its key", "grpc_addr: ${NOT_SET_ANYWHERE}\n", "grpc_addr: environment variable NOT_SET_ANYWHERE is not set"},
		{"broken YAML is reported", "kafka: [\n", "parse yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), envMap(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeErrorsMaskEnvironmentValues(t *testing.T) {
	_, err := Parse([]byte("kafka:\n  topics:\n    partitions: ${P}\n"), envMap(map[string]string{"P": "topsecret"}))
	if err == nil {
		t.Fatal("want an error")
	}
	if strings.Contains(err.Error(), "topsecret") || !strings.Contains(err.Error(), "kafka.topics.partitions") {
		t.Fatalf("err = %v", err)
	}
}

func TestConnectorDurationsAcceptMilliseconds(t *testing.T) {
	c := Default()
	c.Connectors[0].Config = map[string]string{"mllp.read.timeout": "1500", "mllp.write.timeout": "2s"}
	s, err := c.Connectors[0].Settings(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.ReadTimeout != 1500*time.Millisecond || s.WriteTimeout != 2*time.Second {
		t.Fatalf("read %v write %v", s.ReadTimeout, s.WriteTimeout)
	}
}
