package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Validate checks the whole configuration and returns every problem found,
// joined with errors.Join, each naming its key ("kafka.producer.acks: ...",
// "connectors[1] (lab).config.errors.tolerance: ..."). It reads no files
// except a connector's hl7.parser.config.file (to check it exists).
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	for _, a := range []struct{ key, v string }{
		{"mllp_addr", c.MLLPAddr}, {"http_addr", c.HTTPAddr}, {"grpc_addr", c.GRPCAddr},
	} {
		if err := checkAddr(a.v, true); err != nil {
			bad(a.key, "%v", err)
		}
	}
	if c.DebugAddr != "" {
		if err := checkAddr(c.DebugAddr, true); err != nil {
			bad("debug_addr", "%v", err)
		}
	}
	if c.Embedded() {
		if err := checkAddr(c.EmbeddedKafkaAddr, false); err != nil {
			bad("embedded_kafka_addr", "%v", err)
		}
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout", "must be positive, got %v", c.ShutdownTimeout)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "must be json or text, got %q", c.Log.Format)
	}
	if c.InstanceID != "" && !validInstanceID(c.InstanceID) {
		bad("instance_id", "letters, digits, '.', '_' and '-' only, at most 64, got %q", c.InstanceID)
	}
	errs = append(errs, c.Kafka.validate(c.Embedded())...)
	errs = append(errs, c.validateConnectors()...)
	return errors.Join(errs...)
}

// checkAddr checks a host:port listen address; the host may be empty when
// anyHost is set.
func checkAddr(addr string, anyHost bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not a host:port address: %q", addr)
	}
	if host == "" && !anyHost {
		return fmt.Errorf("needs a host: %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port in %q", addr)
	}
	return nil
}

func (k Kafka) validate(embedded bool) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("kafka.%s: "+format, append([]any{key}, args...)...))
	}
	for i, b := range k.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			bad(fmt.Sprintf("brokers[%d]", i), "not a host:port address: %q", b)
		}
	}
	if k.ClientID == "" {
		bad("client_id", "must not be empty")
	}
	switch k.Preset {
	case "":
	case PresetConfluentCloud:
		if embedded {
			bad("preset", "%s needs kafka.brokers", PresetConfluentCloud)
		}
		if k.SASL.Mechanism != "" && k.SASL.Mechanism != SASLPlain {
			bad("sasl.mechanism", "preset %s uses PLAIN, got %q", PresetConfluentCloud, k.SASL.Mechanism)
		}
		if k.SASL.Username == "" || k.SASL.Password.IsZero() {
			bad("sasl", "preset %s needs username (API key) and password (API secret)", PresetConfluentCloud)
		}
	default:
		bad("preset", "must be empty or %q, got %q", PresetConfluentCloud, k.Preset)
	}
	errs = append(errs, k.TLS.validate()...)
	errs = append(errs, k.SASL.validate(k.Preset)...)
	errs = append(errs, k.Producer.validate()...)
	t := k.Topics
	if t.Partitions < 1 {
		bad("topics.partitions", "must be at least 1, got %d", t.Partitions)
	}
	if t.ReplicationFactor < 1 {
		bad("topics.replication_factor", "must be at least 1, got %d", t.ReplicationFactor)
	}
	if t.MinInsyncReplicas < 1 || t.MinInsyncReplicas > t.ReplicationFactor {
		bad("topics.min_insync_replicas", "must be between 1 and replication_factor (%d), got %d", t.ReplicationFactor, t.MinInsyncReplicas)
	}
	if t.StatusTopic == "" {
		bad("topics.status_topic", "must not be empty")
	}
	if t.DedupTopic == "" || t.DedupTopic == t.StatusTopic {
		bad("topics.dedup_topic", "must be set and differ from status_topic")
	}
	return errs
}

// validInstanceID reports whether id can be part of a transactional id and
// a client.id as it is: 1-64 of [A-Za-z0-9._-].
func validInstanceID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		ok := r == '.' || r == '_' || r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

func (t TLS) validate() []error {
	var errs []error
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, errors.New("kafka.tls.cert_file, kafka.tls.key_file: set both or neither"))
	}
	switch t.MinVersion {
	case "1.2", "1.3":
	default:
		errs = append(errs, fmt.Errorf("kafka.tls.min_version: must be 1.2 or 1.3, got %q", t.MinVersion))
	}
	return errs
}

func (s SASL) validate(preset string) []error {
	var errs []error
	switch s.Mechanism {
	case "":
		if preset == "" && (s.Username != "" || !s.Password.IsZero()) {
			errs = append(errs, errors.New("kafka.sasl.mechanism: required when a username or password is set"))
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if s.Username == "" {
			errs = append(errs, errors.New("kafka.sasl.username: required with a SASL mechanism"))
		}
		if s.Password.IsZero() {
			errs = append(errs, errors.New("kafka.sasl.password: required with a SASL mechanism (or password_file)"))
		}
	default:
		errs = append(errs, fmt.Errorf("kafka.sasl.mechanism: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", s.Mechanism))
	}
	return errs
}

func (p Producer) validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("kafka.producer.%s: "+format, append([]any{key}, args...)...))
	}
	switch p.Acks {
	case "all", "-1":
	case "1", "leader", "0", "none":
		if !p.AllowUnsafeAcks {
			bad("acks", "must be \"all\": a sender is acknowledged only after every in-sync replica has the record (set allow_unsafe_acks to override), got %q", p.Acks)
		} else if p.Idempotent {
			bad("idempotent", "needs acks=all; set it false to use acks=%s", p.Acks)
		}
	default:
		bad("acks", "must be \"all\", got %q", p.Acks)
	}
	for _, d := range []struct {
		key string
		v   int64
	}{
		{"delivery_timeout", int64(p.DeliveryTimeout)},
		{"request_timeout", int64(p.RequestTimeout)},
	} {
		if d.v <= 0 {
			bad(d.key, "must be positive")
		}
	}
	if p.Linger < 0 {
		bad("linger", "must not be negative")
	}
	if p.RequestTimeout > 0 && p.DeliveryTimeout > 0 && p.DeliveryTimeout < p.RequestTimeout {
		bad("delivery_timeout", "must be at least request_timeout (%v), got %v", p.RequestTimeout, p.DeliveryTimeout)
	}
	switch p.Compression {
	case "zstd", "lz4", "snappy", "gzip", "none":
	default:
		bad("compression", "must be zstd, lz4, snappy, gzip or none, got %q", p.Compression)
	}
	if p.MaxBufferedRecords < 1 {
		bad("max_buffered_records", "must be at least 1, got %d", p.MaxBufferedRecords)
	}
	if p.MaxBufferedBytes < 0 {
		bad("max_buffered_bytes", "must not be negative (0 = no byte limit), got %d", p.MaxBufferedBytes)
	}
	if p.MaxBatchBytes < 1024 {
		bad("max_batch_bytes", "must be at least 1024, got %d", p.MaxBatchBytes)
	}
	if p.TransactionalIDPrefix == "" {
		bad("transactional_id_prefix", "must not be empty")
	}
	if p.TransactionalProducers < 1 {
		bad("transactional_producers", "must be at least 1, got %d", p.TransactionalProducers)
	}
	return errs
}

func (c Config) validateConnectors() []error {
	var errs []error
	names := map[string]int{}
	// One connector per type and address: two MLLP servers cannot share a
	// port, and one HTTP listener takes its TLS, limits and authentication
	// from the one fhir-rest connector on it.
	addrs := map[string]map[string]string{}
	for i, conn := range c.Connectors {
		key := fmt.Sprintf("connectors[%d]", i)
		if conn.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: must not be empty", key))
		} else if j, dup := names[conn.Name]; dup {
			errs = append(errs, fmt.Errorf("%s.name: duplicate connector name %q (also connectors[%d])", key, conn.Name, j))
		} else {
			names[conn.Name] = i
		}
		s, err := conn.Settings(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", key, conn.Name, err))
			continue
		}
		if addrs[conn.Type] == nil {
			addrs[conn.Type] = map[string]string{}
		}
		if other, dup := addrs[conn.Type][s.ListenAddr]; dup {
			errs = append(errs, fmt.Errorf("%s (%s).config.listen.address: %q already used by connector %q", key, conn.Name, s.ListenAddr, other))
		}
		addrs[conn.Type][s.ListenAddr] = conn.Name
	}
	return errs
}
