package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/ianaindex"

	"github.com/hl7gw/gateway/router"
)

// ConnectorSettings is the typed view of a connector's dotted keys, with
// the defaults of DESIGN.md applied. Topic names (DLQ topics) already carry
// TopicPrefix.
type ConnectorSettings struct {
	Name string
	Type string
	// ListenAddr: listen.address; default the global address for the type
	// (mllp_addr, http_addr, grpc_addr).
	ListenAddr string

	HL7ValidationEnabled bool   // hl7.validation.enabled (true)
	HL7Strict            bool   // hl7.parser.strict (false)
	HL7Version           string // hl7.version ("": any)
	HL7ProfileFile       string // hl7.parser.config.file ("")
	HL7Charset           string // hl7.charset.fallback ("windows-1252"), an IANA charset name

	// HL7ACK: hl7.ack.*, the ERR segments of acknowledgements.
	HL7ACK HL7ACKSettings
	// HL7FHIR: hl7.fhir.convert*, HL7 v2 to FHIR conversion in the stream.
	HL7FHIR HL7FHIRSettings

	FHIRVersion           string // fhir.version ("R4"; "4.0.1" is read as R4; nothing else)
	FHIRValidationEnabled bool   // fhir.validation.enabled (true)
	FHIRStrict            bool   // fhir.parser.strict (true)
	// FHIRRecordAsReceived: fhir.record.form, "stored" (false, the
	// default: records carry the resource as a FHIR server would have
	// stored it) or "as-received" (true: the bytes exactly as received).
	FHIRRecordAsReceived bool

	TopicPrefix string // topic.prefix ("")
	// ErrorsTolerance: errors.tolerance, "all" (DLQ) or "none" (refuse).
	ErrorsTolerance string
	// DLQTopic is the dead-letter topic of a single-format connector
	// (hl7-mllp: HL7DLQTopic, fhir-rest: FHIRDLQTopic); "" for grpc, which
	// carries both formats.
	DLQTopic string
	// HL7DLQTopic: errors.deadletterqueue.topic.name for hl7-mllp,
	// errors.deadletterqueue.hl7.topic.name for grpc; default prefix+"hl7.dlq".
	HL7DLQTopic string
	// FHIRDLQTopic: errors.deadletterqueue.topic.name for fhir-rest,
	// errors.deadletterqueue.fhir.topic.name for grpc, and for hl7-mllp
	// when it converts to FHIR (hl7.fhir.convert; else ""); default
	// prefix+"fhir.dlq".
	FHIRDLQTopic      string
	DLQContextHeaders bool // errors.deadletterqueue.context.headers.enable (true)
	MaxInFlight       int  // max.inflight.messages (1000), at least 1

	// MaxFrameBytes bounds one message: mllp.max.frame.bytes (1 MiB) for
	// hl7-mllp, http.max.body.bytes (10 MiB) for fhir-rest,
	// grpc.max.message.bytes (10 MiB) for grpc.
	MaxFrameBytes int
	// MLLP timeouts: mllp.read.timeout (30s) bounds reading one frame once
	// it started, mllp.idle.timeout (5m) closes a silent connection,
	// mllp.write.timeout (30s) bounds writing an ACK. Values are Go
	// durations ("30s") or integer milliseconds ("30000", as in Kafka
	// Connect).
	ReadTimeout, IdleTimeout, WriteTimeout time.Duration
	// MaxConnections bounds a listener's open connections:
	// mllp.max.connections for hl7-mllp, max.connections for fhir-rest
	// and grpc (0 = unlimited; Derived when not set: the gateway then
	// derives it from the open-file limit at start).
	MaxConnections int
	// Edge: TLS, allow-lists, authentication, per-source limits, dedup.
	Edge EdgeSettings
}

// Tolerance values.
const (
	ToleranceAll  = "all"
	ToleranceNone = "none"
)

// keysByType lists the dotted keys each connector type accepts.
var keysByType = map[string][]string{
	TypeHL7MLLP: {
		"listen.address", "topic.prefix", "errors.tolerance", "max.inflight.messages",
		"errors.deadletterqueue.topic.name", "errors.deadletterqueue.context.headers.enable",
		"hl7.validation.enabled", "hl7.parser.strict", "hl7.version", "hl7.parser.config.file", "hl7.charset.fallback",
		"mllp.max.frame.bytes", "mllp.read.timeout", "mllp.idle.timeout", "mllp.write.timeout", "mllp.max.connections",
	},
	TypeFHIRREST: {
		"listen.address", "topic.prefix", "errors.tolerance", "max.inflight.messages",
		"errors.deadletterqueue.topic.name", "errors.deadletterqueue.context.headers.enable",
		"fhir.version", "fhir.validation.enabled", "fhir.parser.strict", "fhir.record.form", "http.max.body.bytes",
		// The HTTP listener also serves POST /v1/hl7, the REST form of SubmitHL7.
		"errors.deadletterqueue.hl7.topic.name",
		"hl7.validation.enabled", "hl7.parser.strict", "hl7.version", "hl7.parser.config.file", "hl7.charset.fallback",
		"http.read.timeout", "http.idle.timeout", "max.connections",
	},
	TypeGRPC: {
		"listen.address", "topic.prefix", "errors.tolerance", "max.inflight.messages",
		"errors.deadletterqueue.hl7.topic.name", "errors.deadletterqueue.fhir.topic.name",
		"errors.deadletterqueue.context.headers.enable",
		"hl7.validation.enabled", "hl7.parser.strict", "hl7.version", "hl7.parser.config.file", "hl7.charset.fallback",
		"fhir.version", "fhir.validation.enabled", "fhir.parser.strict", "fhir.record.form", "grpc.max.message.bytes",
		"grpc.max.concurrent.streams", "max.connections", "grpc.stream.idle.timeout",
		"grpc.max.connection.idle", "grpc.max.connection.age", "grpc.max.connection.age.grace",
	},
}

func init() {
	for typ := range keysByType {
		keysByType[typ] = append(keysByType[typ], edgeKeys...)
		if typ != TypeHL7MLLP {
			keysByType[typ] = append(keysByType[typ], authKeys...)
		}
	}
}

var hl7VersionRE = regexp.MustCompile(`^2\.[1-9](\.[0-9]+)*$`)

// Settings resolves the connector's dotted keys against global (for default
// listen addresses). Every problem is reported, joined, each naming the key
// as "config.<dotted key>"; an unknown key or one that does not belong to
// the connector's type is an error.
func (c Connector) Settings(global Config) (ConnectorSettings, error) {
	allowed, ok := keysByType[c.Type]
	if !ok {
		return ConnectorSettings{}, fmt.Errorf("type: unknown connector type %q (want %s, %s or %s)", c.Type, TypeHL7MLLP, TypeFHIRREST, TypeGRPC)
	}
	r := keyReader{m: c.Config, allowed: allowed}
	s := ConnectorSettings{Name: c.Name, Type: c.Type}
	switch c.Type {
	case TypeHL7MLLP:
		s.ListenAddr = r.str("listen.address", global.MLLPAddr)
	case TypeFHIRREST:
		s.ListenAddr = r.str("listen.address", global.HTTPAddr)
	case TypeGRPC:
		s.ListenAddr = r.str("listen.address", global.GRPCAddr)
	}
	if err := checkAddr(s.ListenAddr, true); err != nil {
		r.fail("listen.address", "%v", err)
	}
	s.TopicPrefix = r.str("topic.prefix", "")
	if s.TopicPrefix != "" && !router.ValidTopicName(s.TopicPrefix) {
		r.fail("topic.prefix", "only ASCII letters, digits, '.', '_' and '-' are allowed in topic names")
	}
	s.ErrorsTolerance = r.str("errors.tolerance", ToleranceAll)
	if s.ErrorsTolerance != ToleranceAll && s.ErrorsTolerance != ToleranceNone {
		r.fail("errors.tolerance", "must be all or none, got %q", s.ErrorsTolerance)
	}
	s.DLQContextHeaders = r.boolean("errors.deadletterqueue.context.headers.enable", true)
	s.MaxInFlight = r.integer("max.inflight.messages", 1000, 1)

	// Every type reads HL7 settings: fhir-rest also serves POST /v1/hl7.
	fhir := c.Type != TypeHL7MLLP
	s.readHL7(&r)
	if fhir {
		s.readFHIR(&r)
	}
	switch c.Type {
	case TypeHL7MLLP:
		s.HL7DLQTopic = r.topic("errors.deadletterqueue.topic.name", s.TopicPrefix, "hl7.dlq")
		s.DLQTopic = s.HL7DLQTopic
		s.MaxFrameBytes = r.integer("mllp.max.frame.bytes", 1<<20, 1)
		s.ReadTimeout = r.duration("mllp.read.timeout", 30*time.Second)
		s.IdleTimeout = r.duration("mllp.idle.timeout", 5*time.Minute)
		s.WriteTimeout = r.duration("mllp.write.timeout", 30*time.Second)
		s.MaxConnections = r.integer("mllp.max.connections", Derived, 0)
	case TypeFHIRREST:
		s.FHIRDLQTopic = r.topic("errors.deadletterqueue.topic.name", s.TopicPrefix, "fhir.dlq")
		s.DLQTopic = s.FHIRDLQTopic
		s.HL7DLQTopic = r.topic("errors.deadletterqueue.hl7.topic.name", s.TopicPrefix, "hl7.dlq")
		s.MaxFrameBytes = r.integer("http.max.body.bytes", 10<<20, 1)
	case TypeGRPC:
		s.HL7DLQTopic = r.topic("errors.deadletterqueue.hl7.topic.name", s.TopicPrefix, "hl7.dlq")
		s.FHIRDLQTopic = r.topic("errors.deadletterqueue.fhir.topic.name", s.TopicPrefix, "fhir.dlq")
		s.MaxFrameBytes = r.integer("grpc.max.message.bytes", 10<<20, 1)
	}
	s.readHL7FHIR(&r, c.Type)
	s.readEdge(&r, c.Type)
	r.unknown(c.Type)
	if len(r.errs) > 0 {
		return ConnectorSettings{}, errors.Join(r.errs...)
	}
	return s, nil
}

func (s *ConnectorSettings) readHL7(r *keyReader) {
	s.HL7ValidationEnabled = r.boolean("hl7.validation.enabled", true)
	s.HL7Strict = r.boolean("hl7.parser.strict", false)
	s.HL7Version = r.str("hl7.version", "")
	if s.HL7Version != "" && !hl7VersionRE.MatchString(s.HL7Version) {
		r.fail("hl7.version", "must be an HL7 v2 version such as 2.5.1, got %q", s.HL7Version)
	}
	s.HL7ProfileFile = r.str("hl7.parser.config.file", "")
	r.file("hl7.parser.config.file", s.HL7ProfileFile)
	s.HL7Charset = r.str("hl7.charset.fallback", "windows-1252")
	if enc, err := ianaindex.IANA.Encoding(s.HL7Charset); err != nil || enc == nil {
		r.fail("hl7.charset.fallback", "unknown or unsupported charset %q", s.HL7Charset)
	}
	s.HL7ACK = readHL7ACK(r)
}

func (s *ConnectorSettings) readFHIR(r *keyReader) {
	v := r.str("fhir.version", "R4")
	switch strings.ToUpper(v) {
	case "R4", "4.0.1", "4.0":
		s.FHIRVersion = "R4"
	default:
		r.fail("fhir.version", "only R4 is supported, got %q", v)
	}
	s.FHIRValidationEnabled = r.boolean("fhir.validation.enabled", true)
	s.FHIRStrict = r.boolean("fhir.parser.strict", true)
	switch form := r.str("fhir.record.form", "stored"); form {
	case "stored":
	case "as-received":
		s.FHIRRecordAsReceived = true
	default:
		r.fail("fhir.record.form", "must be stored or as-received, got %q", form)
	}
}

// keyReader reads typed values from dotted keys, collecting errors and the
// keys it used.
type keyReader struct {
	m       map[string]string
	allowed []string
	errs    []error
}

func (r *keyReader) fail(key, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("config.%s: "+format, append([]any{key}, args...)...))
}

func (r *keyReader) lookup(key string) (string, bool) {
	v, ok := r.m[key]
	return strings.TrimSpace(v), ok
}

func (r *keyReader) str(key, def string) string {
	if v, ok := r.lookup(key); ok {
		return v
	}
	return def
}

// file reports key when path is set but cannot be read.
func (r *keyReader) file(key, path string) {
	if path == "" {
		return
	}
	if _, err := os.Stat(path); err != nil {
		r.fail(key, "%v", err)
	}
}

func (r *keyReader) boolean(key string, def bool) bool {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(key, "must be true or false, got %q", v)
		return def
	}
	return b
}

func (r *keyReader) integer(key string, def, minimum int) int {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < minimum {
		r.fail(key, "must be an integer of at least %d, got %q", minimum, v)
		return def
	}
	return n
}

// duration reads a Go duration ("30s") or integer milliseconds ("30000").
func (r *keyReader) duration(key string, def time.Duration) time.Duration {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		ms, err2 := strconv.ParseInt(v, 10, 64)
		if err2 != nil {
			r.fail(key, "must be a duration such as 30s or integer milliseconds, got %q", v)
			return def
		}
		d = time.Duration(ms) * time.Millisecond
	}
	if d <= 0 {
		r.fail(key, "must be positive, got %q", v)
		return def
	}
	return d
}

func (r *keyReader) topic(key, prefix, def string) string {
	t := prefix + r.str(key, def)
	if !router.ValidTopicName(t) {
		r.fail(key, "not a valid Kafka topic name: %q", t)
	}
	return t
}

// unknown reports keys that the connector's type does not accept, sorted.
func (r *keyReader) unknown(typ string) {
	var bad []string
	for k := range r.m {
		found := false
		for _, a := range r.allowed {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			bad = append(bad, k)
		}
	}
	sort.Strings(bad)
	for _, k := range bad {
		r.fail(k, "unknown key for connector type %s", typ)
	}
}
