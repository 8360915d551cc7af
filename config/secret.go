package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"go.yaml.in/yaml/v3"
)

const redacted = "[REDACTED]"

// Secret is a string that never prints: fmt (every verb, including %+v and
// %#v), slog, JSON, YAML and text marshalling all show "[REDACTED]" (or ""
// when empty). Reveal returns the value.
type Secret struct{ v string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the secret value. Call it only where the value is used.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

func (s Secret) mask() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.mask() }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return `config.Secret("` + s.mask() + `")` }

// Format implements fmt.Formatter so that no verb (%d, %x, ...) reaches the
// value through reflection.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, s.mask())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.mask()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.mask()) }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.mask(), nil }

// UnmarshalYAML implements yaml.Unmarshaler: a secret is a scalar.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	var v string
	if err := n.Decode(&v); err != nil {
		return err
	}
	s.v = v
	return nil
}
