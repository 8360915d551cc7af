package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// envMap returns an env lookup function over m.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultIsValidAndComplete(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"mllp addr", c.MLLPAddr, ":2575"},
		{"http addr", c.HTTPAddr, ":8080"},
		{"grpc addr", c.GRPCAddr, ":9090"},
		{"embedded addr", c.EmbeddedKafkaAddr, "127.0.0.1:9092"},
		{"shutdown", c.ShutdownTimeout, 30 * time.Second},
		{"log level", c.Log.Level, "info"},
		{"log format", c.Log.Format, "json"},
		{"embedded", c.Embedded(), true},
		{"client id", c.Kafka.ClientID, "hl7-gateway"},
		{"acks", c.Kafka.Producer.Acks, "all"},
		{"idempotent", c.Kafka.Producer.Idempotent, true},
		{"delivery timeout", c.Kafka.Producer.DeliveryTimeout, 30 * time.Second},
		{"request timeout", c.Kafka.Producer.RequestTimeout, 10 * time.Second},
		{"linger", c.Kafka.Producer.Linger, time.Duration(0)},
		{"compression", c.Kafka.Producer.Compression, "snappy"},
		{"max buffered records", c.Kafka.Producer.MaxBufferedRecords, 100000},
		{"max buffered bytes", c.Kafka.Producer.MaxBufferedBytes, int64(256 << 20)},
		{"tx prefix", c.Kafka.Producer.TransactionalIDPrefix, "hl7-gateway-tx"},
		{"topics create", c.Kafka.Topics.Create, false},
		{"partitions", c.Kafka.Topics.Partitions, 6},
		{"rf configured", c.Kafka.Topics.ReplicationFactor, 3},
		{"rf embedded", c.ReplicationFactor(), 1},
		{"min isr", c.Kafka.Topics.MinInsyncReplicas, 2},
		{"tls min", c.Kafka.TLS.MinVersion, "1.2"},
		{"connectors", len(c.Connectors), 3},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestDefaultConnectorSettingsFollowDesign(t *testing.T) {
	c := Default()
	want := map[string]ConnectorSettings{
		TypeHL7MLLP: {
			Name: TypeHL7MLLP, Type: TypeHL7MLLP, ListenAddr: ":2575",
			HL7ValidationEnabled: true, HL7Charset: "windows-1252", HL7ACK: HL7ACKSettings{MaxErrors: 5},
			ErrorsTolerance: "all", DLQTopic: "hl7.dlq", HL7DLQTopic: "hl7.dlq", DLQContextHeaders: true,
			MaxInFlight: 1000, MaxFrameBytes: 1 << 20,
			ReadTimeout: 30 * time.Second, IdleTimeout: 5 * time.Minute, WriteTimeout: 30 * time.Second, MaxConnections: Derived,
			Edge: EdgeSettings{TLS: TLSListen{ClientAuth: "none", MinVersion: "1.2", ReloadInterval: 10 * time.Second}, DedupWindow: 10 * time.Minute, DedupMax: 100000, DedupScope: DedupScopeProcess, MaxConnsPerSource: Derived},
		},
		TypeFHIRREST: {
			Name: TypeFHIRREST, Type: TypeFHIRREST, ListenAddr: ":8080",
			HL7ValidationEnabled: true, HL7Charset: "windows-1252", HL7ACK: HL7ACKSettings{MaxErrors: 5}, // for POST /v1/hl7
			FHIRVersion: "R4", FHIRValidationEnabled: true, FHIRStrict: true,
			ErrorsTolerance: "all", DLQTopic: "fhir.dlq", HL7DLQTopic: "hl7.dlq", FHIRDLQTopic: "fhir.dlq", DLQContextHeaders: true,
			MaxInFlight: 1000, MaxFrameBytes: 10 << 20,
			Edge: EdgeSettings{TLS: TLSListen{ClientAuth: "none", MinVersion: "1.2", ReloadInterval: 10 * time.Second}, DedupWindow: 10 * time.Minute, DedupMax: 100000, DedupScope: DedupScopeProcess, Auth: Auth{APIKeysReloadInterval: 30 * time.Second, Leeway: time.Minute},
				HTTPReadTimeout: time.Minute, HTTPIdleTimeout: 2 * time.Minute, MaxConnsPerSource: Derived},
			MaxConnections: Derived,
		},
		TypeGRPC: {
			Name: TypeGRPC, Type: TypeGRPC, ListenAddr: ":9090",
			HL7ValidationEnabled: true, HL7Charset: "windows-1252", HL7ACK: HL7ACKSettings{MaxErrors: 5},
			FHIRVersion: "R4", FHIRValidationEnabled: true, FHIRStrict: true,
			ErrorsTolerance: "all", HL7DLQTopic: "hl7.dlq", FHIRDLQTopic: "fhir.dlq", DLQContextHeaders: true,
			MaxInFlight: 1000, MaxFrameBytes: 10 << 20,
			Edge: EdgeSettings{TLS: TLSListen{ClientAuth: "none", MinVersion: "1.2", ReloadInterval: 10 * time.Second}, DedupWindow: 10 * time.Minute, DedupMax: 100000, DedupScope: DedupScopeProcess, Auth: Auth{APIKeysReloadInterval: 30 * time.Second, Leeway: time.Minute}, MaxStreams: 100,
				MaxConnsPerSource: Derived, StreamIdleTimeout: 5 * time.Minute, MaxConnIdle: 5 * time.Minute, MaxConnAge: 30 * time.Minute, MaxConnAgeGrace: 5 * time.Minute},
			MaxConnections: Derived,
		},
	}
	for _, conn := range c.Connectors {
		got, err := conn.Settings(c)
		if err != nil {
			t.Fatalf("%s: %v", conn.Name, err)
		}
		if !reflect.DeepEqual(got, want[conn.Type]) {
			t.Errorf("%s settings:\n got %+v\nwant %+v", conn.Type, got, want[conn.Type])
		}
	}
}

func TestExampleFileLoadsAndValidates(t *testing.T) {
	env := envMap(map[string]string{"KAFKA_PASSWORD": "s3cr3t: #not-yaml"})
	c, err := LoadEnv("testdata/gateway.example.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("example does not validate: %v", err)
	}
	if got := c.Kafka.SASL.Password.Reveal(); got != "s3cr3t: #not-yaml" {
		t.Errorf("password = %q, want the environment value verbatim", got)
	}
	if got := strings.Join(c.Kafka.Brokers, ","); got != "broker-1.example.org:9093,broker-2.example.org:9093" {
		t.Errorf("brokers = %q (the ${VAR:-default} default should apply)", got)
	}
	if len(c.Connectors) != 3 {
		t.Fatalf("connectors = %d, want 3", len(c.Connectors))
	}
	s, err := c.Connectors[0].Settings(c)
	if err != nil {
		t.Fatal(err)
	}
	if s.DLQTopic != "prod.hl7.dlq" || s.MaxFrameBytes != 1048576 || s.ReadTimeout != 30*time.Second {
		t.Errorf("adt-feed settings = %+v", s)
	}
	g, err := c.Connectors[2].Settings(c)
	if err != nil {
		t.Fatal(err)
	}
	if g.HL7DLQTopic != "prod.hl7.dlq" || g.FHIRDLQTopic != "prod.fhir.dlq" || g.DLQTopic != "" {
		t.Errorf("grpc DLQ topics = %q %q %q", g.HL7DLQTopic, g.FHIRDLQTopic, g.DLQTopic)
	}
}

func TestExampleFileNeedsItsSecret(t *testing.T) {
	_, err := LoadEnv("testdata/gateway.example.yaml", envMap(nil))
	if err == nil || !strings.Contains(err.Error(), "kafka.sasl.password") || !strings.Contains(err.Error(), "KAFKA_PASSWORD") {
		t.Fatalf("err = %v, want it to name kafka.sasl.password and KAFKA_PASSWORD", err)
	}
}

func TestExpand(t *testing.T) {
	env := envMap(map[string]string{"HOST": "kafka", "PORT": "9092", "EMPTY": ""})
	tests := []struct {
		name, in, want, err string
	}{
		{"a plain value is kept", "abc", "abc", ""},
		{"a set variable is substituted", "${HOST}:${PORT}", "kafka:9092", ""},
		{"a default applies when unset", "${NOPE:-x}", "x", ""},
		{"a default applies when empty", "${EMPTY:-y}", "y", ""},
		{"a default is ignored when set", "${HOST:-other}", "kafka", ""},
		{"an explicit empty default is allowed", "a${NOPE:-}b", "ab", ""},
		{"double dollar is a literal dollar", "$${HOST}", "${HOST}", ""},
		{"a lone dollar is kept", "price $5 $", "price $5 $", ""},
		{"an unset variable is an error", "${NOPE}", "", "NOPE is not set"},
		{"an unterminated reference is an error", "${HOST", "", "unterminated"},
		{"a bad name is an error", "${1X}", "", "bad variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expand(tt.in, env)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestExpandedValuesAreRetyped(t *testing.T) {
	env := envMap(map[string]string{"N": "42", "T": "true", "D": "2s"})
	c, err := Parse([]byte("kafka:\n  topics:\n    partitions: ${N}\n    create: ${T}\nshutdown_timeout: ${D}\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.Topics.Partitions != 42 || !c.Kafka.Topics.Create || c.ShutdownTimeout != 2*time.Second {
		t.Fatalf("got partitions=%d create=%v shutdown=%v", c.Kafka.Topics.Partitions, c.Kafka.Topics.Create, c.ShutdownTimeout)
	}
}

func TestPrecedenceIsFlagThenEnvThenFileThenDefault(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(path, []byte("mllp_addr: \":1001\"\nhttp_addr: \":1002\"\nkafka:\n  brokers: [file:9092]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		mllp     string
		http     string
		grpc     string
		brokers  string
		logLevel string
	}{
		{"the file overrides defaults", []string{"--config", path}, nil, ":1001", ":1002", ":9090", "file:9092", "info"},
		{"the environment names the file", nil, map[string]string{"GATEWAY_CONFIG": path}, ":1001", ":1002", ":9090", "file:9092", "info"},
		{"the environment overrides the file", []string{"--config", path},
			map[string]string{"GATEWAY_MLLP_ADDR": ":2001", "GATEWAY_KAFKA_BROKERS": "a:1, b:2", "GATEWAY_LOG_LEVEL": "debug"},
			":2001", ":1002", ":9090", "a:1,b:2", "debug"},
		{"a flag overrides the environment", []string{"--config", path, "--mllp-addr", ":3001", "--grpc-addr=:3003"},
			map[string]string{"GATEWAY_MLLP_ADDR": ":2001", "GATEWAY_GRPC_ADDR": ":2003"},
			":3001", ":1002", ":3003", "file:9092", "info"},
		{"an empty brokers flag selects the embedded broker", []string{"--config", path, "--kafka-brokers="},
			map[string]string{"GATEWAY_KAFKA_BROKERS": "env:1"}, ":1001", ":1002", ":9090", "", "info"},
		{"an empty environment variable counts as unset", []string{"--config", path},
			map[string]string{"GATEWAY_MLLP_ADDR": ""}, ":1001", ":1002", ":9090", "file:9092", "info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fl := RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			c, err := fl.Load(envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			got := []string{c.MLLPAddr, c.HTTPAddr, c.GRPCAddr, strings.Join(c.Kafka.Brokers, ","), c.Log.Level}
			want := []string{tt.mllp, tt.http, tt.grpc, tt.brokers, tt.logLevel}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestFlagNamesAndEnvNames(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	RegisterFlags(fs)
	for _, name := range []string{"config", "mllp-addr", "http-addr", "grpc-addr", "kafka-brokers", "embedded-kafka-addr", "log-level", "log-format"} {
		if fs.Lookup(name) == nil {
			t.Errorf("flag --%s not registered", name)
		}
	}
	if got := EnvName("kafka-brokers"); got != "GATEWAY_KAFKA_BROKERS" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestConnectorOverridesGlobalAddressOnlyWhenSet(t *testing.T) {
	c := Default()
	c.MLLPAddr = ":7777"
	c.Connectors = []Connector{
		{Name: "a", Type: TypeHL7MLLP},
		{Name: "b", Type: TypeHL7MLLP, Config: map[string]string{"listen.address": ":7778"}},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	a, _ := c.Connectors[0].Settings(c)
	b, _ := c.Connectors[1].Settings(c)
	if a.ListenAddr != ":7777" || b.ListenAddr != ":7778" {
		t.Fatalf("listen addresses %q %q", a.ListenAddr, b.ListenAddr)
	}
}

func TestConnectorsAbsentEmptyOrGiven(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       int
	}{
		{"an absent list keeps the three defaults", "log: {level: warn}\n", 3},
		{"an explicit empty list means none", "connectors: []\n", 0},
		{"a given list replaces the defaults", "connectors:\n  - {name: x, type: grpc}\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), envMap(nil))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Connectors) != tt.want {
				t.Fatalf("connectors = %d, want %d", len(c.Connectors), tt.want)
			}
		})
	}
}

func TestPasswordFileReplacesPassword(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "gw.yaml")
	doc := "kafka:\n  brokers: [k:9092]\n  sasl: {mechanism: PLAIN, username: u, password_file: " + pw + "}\n"
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.SASL.Password.Reveal() != "from-file" {
		t.Fatalf("password not read from file")
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(pw); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(cfgPath); err == nil || !strings.Contains(err.Error(), "kafka.sasl.password_file") {
		t.Fatalf("missing password file: err = %v", err)
	}
}

func TestSecretsNeverAppearInOutput(t *testing.T) {
	const secret = "hunter2-very-secret"
	c := Default()
	c.Kafka.Brokers = []string{"k:9092"}
	c.Kafka.SASL = SASL{Mechanism: SASLScramSHA256, Username: "user", Password: NewSecret(secret)}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		outputs = append(outputs, fmt.Sprintf(verb, c), fmt.Sprintf(verb, c.Kafka.SASL), fmt.Sprintf(verb, c.Kafka.SASL.Password))
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "config", c, "sasl", c.Kafka.SASL, "pw", c.Kafka.SASL.Password)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "config", c, "sasl", c.Kafka.SASL, "pw", c.Kafka.SASL.Password)
	outputs = append(outputs, buf.String())
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j), string(y))
	hexSecret := fmt.Sprintf("%x", secret)
	for i, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, hexSecret) {
			t.Errorf("output %d leaks the secret: %s", i, out)
		}
	}
	if !strings.Contains(outputs[1], redacted) {
		t.Errorf("%%+v of the config does not show %s: %s", redacted, outputs[1])
	}
	if c.Kafka.SASL.Password.Reveal() != secret {
		t.Errorf("Reveal lost the value")
	}
}
