// Package config is the gateway's configuration in one place: the Config
// struct with its defaults, YAML loading with ${VAR} expansion, the
// command-line / environment overlay, validation, and the typed view of each
// connector's Kafka Connect style dotted keys.
//
// Precedence, highest first: command-line flag, GATEWAY_<FLAG> environment
// variable, configuration file, default. Nothing here blocks or does network
// I/O; Load and Flags.Load read files (the config file, a SASL password file).
//
// Secrets (the SASL password) are held in a Secret, which prints, logs and
// marshals as "[REDACTED]"; only Reveal returns the value.
package config

import (
	"time"
)

// Connector types.
const (
	TypeHL7MLLP  = "hl7-mllp"
	TypeFHIRREST = "fhir-rest"
	TypeGRPC     = "grpc"
)

// Kafka presets.
const (
	// PresetConfluentCloud applies the client settings Confluent Cloud needs
	// and recommends; see Kafka.Preset.
	PresetConfluentCloud = "confluent-cloud"
)

// SASL mechanisms.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Config is the whole gateway configuration. The zero value is not useful;
// start from Default (Load does).
type Config struct {
	// MLLPAddr is the default listen address of hl7-mllp connectors.
	MLLPAddr string `yaml:"mllp_addr"`
	// HTTPAddr serves FHIR REST, the REST form of the gRPC API, /metrics,
	// /healthz and /readyz; it is the default of fhir-rest connectors.
	HTTPAddr string `yaml:"http_addr"`
	// GRPCAddr is the default listen address of grpc connectors.
	GRPCAddr string `yaml:"grpc_addr"`
	// DebugAddr, when set, serves Go's profiler (/debug/pprof/) on its own
	// listener, off by default: profiles show code paths and timings, not
	// message content, but keep the address on loopback or an admin network.
	DebugAddr string `yaml:"debug_addr"`
	// EmbeddedKafkaAddr is where the embedded broker listens when
	// Kafka.Brokers is empty.
	EmbeddedKafkaAddr string `yaml:"embedded_kafka_addr"`
	// ShutdownTimeout bounds the ordered shutdown (drain, flush, close).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// InstanceID names this gateway among the instances sharing a Kafka
	// cluster: it goes into the transactional ids, the Kafka client.id,
	// gateway_instance_info and every log line. Empty derives one (see
	// package cluster): the host name plus a random suffix, kept in StateDir
	// when one is set (stable across restarts), else new at every start.
	// Letters, digits, '.', '_' and '-', at most 64.
	InstanceID string `yaml:"instance_id"`
	// StateDir, when set, keeps the derived instance id across restarts
	// (file instance-id); unused with an explicit InstanceID.
	StateDir string `yaml:"state_dir"`
	Log      Log    `yaml:"log"`
	Kafka    Kafka  `yaml:"kafka"`
	// Connectors are the front doors. An absent list means the three
	// defaults (hl7-mllp, fhir-rest, grpc); an explicit empty list means
	// none.
	Connectors []Connector `yaml:"connectors"`
}

// Log configures the process logger.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // json | text
}

// Kafka configures the Kafka clients (package publish turns it into
// franz-go options).
type Kafka struct {
	// Brokers are the seed brokers; empty means the embedded broker.
	Brokers  []string `yaml:"brokers"`
	ClientID string   `yaml:"client_id"`
	// Preset applies a provider's settings on top of the others:
	//
	//   - "confluent-cloud": SASL_SSL with PLAIN (API key as username, API
	//     secret as password), TLS on with at least TLS 1.2 and the server
	//     name taken from each broker host, produce request timeout of at
	//     least 30s (Confluent's default request.timeout.ms; cloud brokers
	//     can take longer than a LAN broker under throttling), metadata max
	//     age 60s (cloud clusters move partition leaders during rolling
	//     upgrades; a shorter age finds new leaders sooner), dial timeout 20s
	//     (TLS handshakes across regions), and a replication factor of 3 for
	//     created topics (Confluent Cloud requires 3).
	Preset   string   `yaml:"preset"`
	TLS      TLS      `yaml:"tls"`
	SASL     SASL     `yaml:"sasl"`
	Producer Producer `yaml:"producer"`
	Topics   Topics   `yaml:"topics"`
}

// TLS configures TLS to the brokers.
type TLS struct {
	Enabled  bool   `yaml:"enabled"`
	CAFile   string `yaml:"ca_file"`   // PEM; empty = system roots
	CertFile string `yaml:"cert_file"` // client certificate (mTLS), with KeyFile
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker certificate;
	// empty = the broker's host.
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	MinVersion         string `yaml:"min_version"` // "1.2" | "1.3"
}

// SASL configures SASL authentication.
type SASL struct {
	Mechanism string `yaml:"mechanism"` // "" | PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
	Username  string `yaml:"username"`
	// Password is never printed or logged; use ${VAR} in the file or
	// PasswordFile.
	Password Secret `yaml:"password"`
	// PasswordFile is read once by Load (trailing newline trimmed) and
	// replaces Password.
	PasswordFile string `yaml:"password_file"`
}

// Producer holds the durable producer settings.
type Producer struct {
	// Acks must be "all": the gateway acknowledges a sender only after every
	// in-sync replica has the record, so that a broker failure right after
	// the ACK cannot lose a message the sender already deleted. "1"/"leader"
	// and "0"/"none" are accepted only with AllowUnsafeAcks, and they need
	// Idempotent false (Kafka's idempotent producer requires acks=all).
	Acks            string `yaml:"acks"`
	AllowUnsafeAcks bool   `yaml:"allow_unsafe_acks"`
	// Idempotent keeps retries from duplicating or reordering records
	// within a partition.
	Idempotent bool `yaml:"idempotent"`
	// DeliveryTimeout bounds how long a record is retried before it fails
	// (kgo.RecordDeliveryTimeout).
	DeliveryTimeout time.Duration `yaml:"delivery_timeout"`
	// RequestTimeout bounds one produce request (kgo.ProduceRequestTimeout).
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// Linger waits to fill batches (kgo.ProducerLinger); it adds up to this
	// much to every ACK. The default is 0: each sender waits for its ACK
	// before the next message, so lingering only delays answers, while
	// records arriving during an in-flight produce request are batched
	// anyway. Raise it only for many concurrent senders with small messages
	// (measured with make bench-e2e: 5ms linger made one connection ~20x
	// slower).
	Linger time.Duration `yaml:"linger"`
	// Compression is the batch codec: snappy by default. A gateway that
	// answers each sender after acks=all sends small batches (1 to 64
	// records); on the HL7 corpus franz-go's snappy compresses them 1.7 to
	// 2.3x faster than lz4 to the same ratio for one record and 9-12%
	// larger for 8-64 (publish BenchmarkCompression); lz4 took a tenth of
	// the gateway's CPU under 64 MLLP connections. Every broker and client
	// (librdkafka, kcat, Java) reads it. zstd shrinks HL7 a third more at
	// 4-6x the CPU: worth it where bandwidth is billed. One of zstd, lz4,
	// snappy, gzip, none.
	Compression string `yaml:"compression"`
	// MaxBufferedRecords and MaxBufferedBytes bound the producer's memory;
	// past them a publish fails fast with reason "buffer_full".
	MaxBufferedRecords int   `yaml:"max_buffered_records"`
	MaxBufferedBytes   int64 `yaml:"max_buffered_bytes"`
	// MaxBatchBytes is the largest record batch sent (kgo.ProducerBatchMaxBytes);
	// keep it at or below the topics' max.message.bytes.
	MaxBatchBytes int32 `yaml:"max_batch_bytes"`
	// TransactionalIDPrefix names the transactional producers used for
	// atomic publishes ("<prefix>-<n>"); every gateway instance sharing a
	// cluster needs its own prefix, or they fence each other.
	TransactionalIDPrefix string `yaml:"transactional_id_prefix"`
	// TransactionalProducers is the size of the pool of transactional
	// clients; each runs one transaction at a time.
	TransactionalProducers int `yaml:"transactional_producers"`
}

// Topics configures topic creation by the gateway.
type Topics struct {
	// Create asks the gateway to create missing topics with the settings
	// below; off by default: production topics are an operator's decision.
	Create            bool `yaml:"create"`
	Partitions        int  `yaml:"partitions"`
	ReplicationFactor int  `yaml:"replication_factor"` // 1 with the embedded broker
	MinInsyncReplicas int  `yaml:"min_insync_replicas"`
	// StatusTopic is the compacted topic the instances share: heartbeats
	// (instance ids in use), connector target states (pause, resume,
	// restart) and each instance's connector status, as Kafka Connect's
	// config and status topics. One partition; always created when missing.
	StatusTopic string `yaml:"status_topic"`
	// DedupTopic is the compacted topic of stored HL7 messages that
	// connectors with hl7.dedup.scope=cluster share.
	DedupTopic string `yaml:"dedup_topic"`
}

// Connector is one front door, Kafka Connect style: a name, a type and
// dotted keys (see Settings).
type Connector struct {
	Name   string          `yaml:"name"`
	Type   string          `yaml:"type"`
	Config ConnectorConfig `yaml:"config"`
}

// Default returns the configuration used when nothing is configured: every
// door on its default port and the embedded broker.
func Default() Config {
	return Config{
		MLLPAddr:          ":2575",
		HTTPAddr:          ":8080",
		GRPCAddr:          ":9090",
		EmbeddedKafkaAddr: "127.0.0.1:9092",
		ShutdownTimeout:   30 * time.Second,
		Log:               Log{Level: "info", Format: "json"},
		Kafka: Kafka{
			ClientID: "hl7-gateway",
			TLS:      TLS{MinVersion: "1.2"},
			Producer: Producer{
				Acks:                   "all",
				Idempotent:             true,
				DeliveryTimeout:        30 * time.Second,
				RequestTimeout:         10 * time.Second,
				Linger:                 0,
				Compression:            "snappy",
				MaxBufferedRecords:     100000,
				MaxBufferedBytes:       256 << 20,
				MaxBatchBytes:          1000012,
				TransactionalIDPrefix:  "hl7-gateway-tx",
				TransactionalProducers: 4,
			},
			Topics: Topics{Partitions: 6, ReplicationFactor: 3, MinInsyncReplicas: 2,
				StatusTopic: "hl7-gateway.status", DedupTopic: "hl7-gateway.dedup"},
		},
		Connectors: DefaultConnectors(),
	}
}

// DefaultConnectors is one connector of each type with default settings.
func DefaultConnectors() []Connector {
	return []Connector{
		{Name: TypeHL7MLLP, Type: TypeHL7MLLP},
		{Name: TypeFHIRREST, Type: TypeFHIRREST},
		{Name: TypeGRPC, Type: TypeGRPC},
	}
}

// Embedded reports whether the gateway runs its own broker (no brokers
// configured).
func (c Config) Embedded() bool { return len(c.Kafka.Brokers) == 0 }

// ReplicationFactor is the replication factor for topics the gateway
// creates: 1 with the embedded broker (it has one node), else the
// configured one.
func (c Config) ReplicationFactor() int {
	if c.Embedded() {
		return 1
	}
	return c.Kafka.Topics.ReplicationFactor
}
