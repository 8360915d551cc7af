package config

import (
	"flag"
	"strings"
)

// flagSpec is one overridable setting: the flag name, its environment
// variable is GATEWAY_ + the name upper-cased with '-' -> '_'.
type flagSpec struct {
	name  string
	usage string
	apply func(c *Config, v string)
}

var flagSpecs = []flagSpec{
	{"mllp-addr", "MLLP listen address (default :2575)", func(c *Config, v string) { c.MLLPAddr = v }},
	{"http-addr", "HTTP listen address: FHIR REST, REST API, metrics, health (default :8080)", func(c *Config, v string) { c.HTTPAddr = v }},
	{"grpc-addr", "gRPC listen address (default :9090)", func(c *Config, v string) { c.GRPCAddr = v }},
	{"kafka-brokers", "comma-separated Kafka seed brokers; empty runs the embedded broker", func(c *Config, v string) { c.Kafka.Brokers = splitList(v, ",") }},
	{"embedded-kafka-addr", "embedded broker listen address (default 127.0.0.1:9092)", func(c *Config, v string) { c.EmbeddedKafkaAddr = v }},
	{"debug-addr", "serve Go's profiler (/debug/pprof/) on this address; empty (default) = off", func(c *Config, v string) { c.DebugAddr = v }},
	{"log-level", "log level: debug, info, warn, error (default info)", func(c *Config, v string) { c.Log.Level = v }},
	{"log-format", "log format: json or text (default json)", func(c *Config, v string) { c.Log.Format = v }},
	{"instance-id", "this gateway's instance id, unique among the instances on one Kafka cluster; empty derives one", func(c *Config, v string) { c.InstanceID = v }},
	{"state-dir", "directory that keeps the derived instance id across restarts; empty = a new id at each start", func(c *Config, v string) { c.StateDir = v }},
}

// EnvName is the environment variable overriding a flag:
// "kafka-brokers" -> "GATEWAY_KAFKA_BROKERS".
func EnvName(flagName string) string {
	return "GATEWAY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Flags are the command-line flags that override the configuration file
// (--config, --mllp-addr, --http-addr, --grpc-addr, --kafka-brokers,
// --embedded-kafka-addr, --log-level, --log-format). Register them on the
// command's own FlagSet, parse it, then call Load:
//
//	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
//	fl := config.RegisterFlags(fs)
//	if err := fs.Parse(args); err != nil { ... }
//	cfg, err := fl.Load(os.Getenv)
//	if err == nil { err = cfg.Validate() }
//
// A flag counts only when given on the command line, so that an unset flag
// never hides the environment or the file.
type Flags struct {
	fs     *flag.FlagSet
	config *string
	values map[string]*string
}

// RegisterFlags defines the gateway's configuration flags on fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs, values: make(map[string]*string, len(flagSpecs))}
	f.config = fs.String("config", "", "YAML configuration file (env "+EnvName("config")+")")
	for _, s := range flagSpecs {
		f.values[s.name] = fs.String(s.name, "", s.usage+" (env "+EnvName(s.name)+")")
	}
	return f
}

// ConfigPath is the configuration file named by --config, else by
// GATEWAY_CONFIG, else "".
func (f *Flags) ConfigPath(env func(string) string) string {
	if f.isSet("config") {
		return *f.config
	}
	return env(EnvName("config"))
}

// Load reads the configuration file (ConfigPath) with ${VAR} expansion from
// env, then applies Apply. Call it after the FlagSet is parsed; env is
// os.Getenv in production. It does not validate.
func (f *Flags) Load(env func(string) string) (Config, error) {
	cfg, err := LoadEnv(f.ConfigPath(env), env)
	if err != nil {
		return Config{}, err
	}
	f.Apply(&cfg, env)
	return cfg, nil
}

// Apply overlays c with the non-empty GATEWAY_<FLAG> environment variables
// and then with the flags given on the command line, so that the
// precedence is flag > env > file > default. An empty environment variable
// counts as unset; a flag given with an empty value counts (for example
// --kafka-brokers= selects the embedded broker over a file's brokers).
func (f *Flags) Apply(c *Config, env func(string) string) {
	for _, s := range flagSpecs {
		if v := env(EnvName(s.name)); v != "" {
			s.apply(c, v)
		}
	}
	for _, s := range flagSpecs {
		if f.isSet(s.name) {
			s.apply(c, *f.values[s.name])
		}
	}
}

func (f *Flags) isSet(name string) bool {
	set := false
	f.fs.Visit(func(fl *flag.Flag) {
		if fl.Name == name {
			set = true
		}
	})
	return set
}

// splitList splits a list separated by sep, trimming spaces and dropping
// empty items.
func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
