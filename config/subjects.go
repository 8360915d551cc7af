package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hl7gw/gateway/edge/tlsconf"
)

// ConnectorConfig is a connector's dotted keys and their values. Values are
// strings, except that the listKeys (tls.client.allowed.subjects, and
// hl7.fhir.convert, added by hl7fhir.go) may also be a YAML sequence of
// strings:
//
//	tls.client.allowed.subjects:
//	  - "CN=lab,O=Hospital"
//	  - "DNS:ris.hospital.test"
//
// A sequence is stored as its entries each followed by ';', the separator
// of the string form, so Settings reads both forms alike.
type ConnectorConfig map[string]string

// listKeys are the keys whose value may be a YAML sequence.
var listKeys = map[string]bool{"tls.client.allowed.subjects": true}

// UnmarshalYAML implements yaml.Unmarshaler: a mapping of scalars, and
// sequences of scalars for listKeys. A sequence entry holding an unescaped
// ';' is an error, since ';' separates entries once stored.
func (c *ConnectorConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		var m map[string]string // yaml.v3's own error for a non-mapping
		if err := n.Decode(&m); err != nil {
			return err
		}
		*c = m
		return nil
	}
	out := make(ConnectorConfig, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var key string
		if err := k.Decode(&key); err != nil {
			return err
		}
		if v.Kind != yaml.SequenceNode || !listKeys[key] {
			var s string
			if err := v.Decode(&s); err != nil {
				return err
			}
			out[key] = s
			continue
		}
		var b strings.Builder
		for _, e := range v.Content {
			var s string
			if err := e.Decode(&s); err != nil {
				return err
			}
			if len(splitUnescaped(s, ';')) > 1 {
				return fmt.Errorf("line %d: config.%s: entry %q holds a ';': escape it as \\;", e.Line, key, s)
			}
			b.WriteString(s)
			b.WriteByte(';')
		}
		out[key] = b.String()
	}
	*c = out
	return nil
}

// readAllowedSubjects reads tls.client.allowed.subjects: entries separated
// by ';' (a YAML sequence is stored so), each one tlsconf.ParseSubject
// form. A string without ';' but with a comma is refused as ambiguous:
// until now "CN=lab,O=Hospital" meant two entries, CN=lab and O=Hospital,
// and it now reads as one whole subject; the error says how to write
// either. A set key with no entry is an error, never "any client".
func readAllowedSubjects(r *keyReader) []string {
	const key = "tls.client.allowed.subjects"
	raw, set := r.lookup(key)
	if !set {
		return nil
	}
	if !strings.Contains(raw, ";") && len(splitUnescaped(raw, ',')) > 1 {
		r.fail(key, "%q is ambiguous: commas no longer separate entries; write a YAML list "+
			"(one whole subject such as \"CN=lab,O=Hospital\", or CN=, DNS: or email: names, per entry) "+
			"or end each whole subject with ';'", raw)
		return nil
	}
	var out []string
	bad := false
	for _, e := range splitUnescaped(raw, ';') {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if _, err := tlsconf.ParseSubject(e); err != nil {
			r.fail(key, "%v", err)
			bad = true
			continue
		}
		out = append(out, e)
	}
	if len(out) == 0 && !bad {
		r.fail(key, "no entry: remove the key to admit every verified client")
	}
	return out
}

// splitUnescaped splits s at every sep not preceded by an escaping '\'.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // the escaped byte
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
