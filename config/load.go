package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the YAML file at path over Default, expanding ${VAR} and
// ${VAR:-default} from the process environment. path "" returns the
// defaults. It reads the SASL password file if one is configured. It does
// not validate: call Validate.
func Load(path string) (Config, error) {
	return LoadEnv(path, os.Getenv)
}

// LoadEnv is Load with env as the environment (os.Getenv in production).
func LoadEnv(path string, env func(string) string) (Config, error) {
	cfg := Default()
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: read file: %w", err)
	}
	if err := decode(data, env, &cfg); err != nil {
		return Config{}, fmt.Errorf("config: %s: %w", path, err)
	}
	if err := cfg.readSecrets(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// Parse decodes YAML data over Default like LoadEnv, without a file; it
// does not read the password file.
func Parse(data []byte, env func(string) string) (Config, error) {
	cfg := Default()
	if err := decode(data, env, &cfg); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// readSecrets replaces the SASL password with the password file's content.
func (c *Config) readSecrets() error {
	if c.Kafka.SASL.PasswordFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.Kafka.SASL.PasswordFile)
	if err != nil {
		// The path is configuration, not a secret; the content never
		// appears in errors.
		return fmt.Errorf("kafka.sasl.password_file: %w", err)
	}
	c.Kafka.SASL.Password = NewSecret(strings.TrimRight(string(b), "\r\n"))
	return nil
}

// decode expands variables inside scalar values (never in keys, and after
// YAML parsing so that a secret containing ": " or "#" cannot change the
// document's structure), then decodes strictly: unknown keys are errors.
// Errors name the dotted key.
func decode(data []byte, env func(string) string, cfg *Config) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("parse yaml: %w", err)
	}
	if root.Kind == 0 { // empty document
		return nil
	}
	var errs []error
	expandedKeys := map[string]bool{}
	walk(&root, "", func(n *yaml.Node, path string) {
		if n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, "$") {
			return
		}
		v, err := expand(n.Value, env)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			return
		}
		if v != n.Value {
			expandedKeys[path] = true
			n.Value = v
			if n.Style == 0 || n.Style == yaml.TaggedStyle {
				n.Tag = "" // re-resolve: "${RETRIES}" may expand to an int
			}
		}
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	expanded, err := yaml.Marshal(&root)
	if err != nil {
		return fmt.Errorf("re-encode yaml: %w", err)
	}
	// Line numbers of the re-encoded document, to name keys in errors.
	var again yaml.Node
	if err := yaml.Unmarshal(expanded, &again); err != nil {
		return fmt.Errorf("parse expanded yaml: %w", err)
	}
	lines := map[int]string{}
	walk(&again, "", func(n *yaml.Node, path string) {
		// The deepest key on a line names it ("kafka.topics.partitions",
		// not the mapping "kafka.topics" that starts on the same line).
		if n.Kind == yaml.ScalarNode && len(path) > len(lines[n.Line]) {
			lines[n.Line] = path
		}
	})
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nameKeys(err, lines, expandedKeys)
	}
	return nil
}

// walk calls fn for every node with its dotted path ("kafka.sasl.password",
// "connectors[1].config.hl7.parser.strict"). For a mapping key node, fn
// gets the path of the key itself.
func walk(n *yaml.Node, path string, fn func(*yaml.Node, string)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walk(c, path, fn)
		}
	case yaml.MappingNode:
		fn(n, path)
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			fn(n.Content[i], p)
			walk(n.Content[i+1], p, fn)
		}
	case yaml.SequenceNode:
		fn(n, path)
		for i, c := range n.Content {
			walk(c, path+"["+strconv.Itoa(i)+"]", fn)
		}
	default:
		fn(n, path)
	}
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

var quotedRE = regexp.MustCompile("`[^`]*`")

// nameKeys rewrites yaml.v3's "line N: ..." errors to "key (line N): ...".
// Values that came from the environment are masked: they may be secrets.
func nameKeys(err error, lines map[int]string, expanded map[string]bool) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		m := lineRE.FindStringSubmatch(msg)
		if m == nil {
			errs = append(errs, errors.New(msg))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		key, ok := lines[line]
		if !ok {
			errs = append(errs, errors.New(msg))
			continue
		}
		detail := m[2]
		if expanded[key] {
			detail = quotedRE.ReplaceAllString(detail, "`(from environment)`")
		}
		if strings.HasPrefix(detail, "field ") && strings.Contains(detail, " not found in type ") {
			detail = "unknown key"
		}
		errs = append(errs, fmt.Errorf("%s (line %d): %s", key, line, detail))
	}
	return errors.Join(errs...)
}

// expand replaces ${VAR} and ${VAR:-default} with values from env; "$$"
// is a literal "$" and a "$" not followed by "{" is kept. ${VAR} with VAR
// unset or empty is an error (a missing secret must not become an empty
// password); ${VAR:-} explicitly allows empty. Error messages name the
// variable, never a value.
func expand(s string, env func(string) string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", errors.New("unterminated ${ in value")
		}
		expr := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validVarName(name) {
			return "", fmt.Errorf("bad variable name %q", name)
		}
		v := env(name)
		if v == "" {
			if !hasDef {
				return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} to allow a default)", name, name)
			}
			v = def
		}
		b.WriteString(v)
		i += 2 + end
	}
	return b.String(), nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
