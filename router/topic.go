// Package router decides where a message goes: topic, key and headers, and
// the dead-letter record for one that failed. Everything here is a pure
// function of its arguments: no I/O, no clock, no configuration lookups.
package router

import (
	"fmt"
	"strings"

	"github.com/hl7gw/gateway/validation"
)

// maxTopicLen is Kafka's limit on topic names.
const maxTopicLen = 249

// Topic joins prefix and lower-cased parts with dots ("prod.", "hl7",
// "ADT", "A01" -> "prod.hl7.adt.a01"), skipping empty parts. It fails with
// a ROUTE-stage error when a part has characters Kafka does not allow in a
// topic name (only ASCII letters, digits, '.', '_' and '-') or the result is
// too long; location names the field the part came from.
func Topic(prefix string, location string, parts ...string) (string, error) {
	var b strings.Builder
	b.Grow(len(prefix) + 32)
	b.WriteString(prefix)
	first := true
	for _, p := range parts {
		if p == "" {
			continue
		}
		if !first {
			b.WriteByte('.')
		}
		first = false
		for i := 0; i < len(p); i++ {
			c := p[i]
			switch {
			case c >= 'A' && c <= 'Z':
				b.WriteByte(c + ('a' - 'A'))
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
				b.WriteByte(c)
			default:
				return "", validation.Errorf(validation.CodeUnsupportedType, location,
					"character not allowed in a topic name (byte 0x%02x)", c)
			}
		}
	}
	t := b.String()
	if len(t) > maxTopicLen {
		return "", validation.Errorf(validation.CodeUnsupportedType, location, "topic name longer than %d bytes", maxTopicLen)
	}
	if t == prefix || t == "" {
		return "", fmt.Errorf("router: empty topic name")
	}
	return t, nil
}

// ValidTopicName reports whether name is a legal Kafka topic name, for
// checking configured names such as dead-letter topics.
func ValidTopicName(name string) bool {
	if name == "" || len(name) > maxTopicLen || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
