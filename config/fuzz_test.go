package config

import (
	"strings"
	"testing"
)

// FuzzExpand checks that expansion never panics, leaves text without "$"
// unchanged and never leaves a resolvable ${...} behind.
func FuzzExpand(f *testing.F) {
	f.Add("${HOST}:${PORT:-9092}")
	f.Add("$$ $ ${")
	env := envMap(map[string]string{"HOST": "h", "PORT": "1"})
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expand(s, env)
		if err != nil {
			return
		}
		if !strings.Contains(s, "$") && out != s {
			t.Fatalf("expand(%q) = %q, changed text without $", s, out)
		}
		if strings.Contains(s, "${HOST}") && !strings.Contains(s, "$$") && strings.Contains(out, "${HOST}") {
			t.Fatalf("expand(%q) = %q left ${HOST}", s, out)
		}
	})
}

// FuzzParse checks that any YAML document either fails with an error or
// yields a configuration; it never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte("mllp_addr: \":2575\"\nkafka:\n  brokers: [a:1]\n"))
	env := envMap(map[string]string{"X": "1"})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, env)
		if err != nil {
			return
		}
		_ = c.Validate()
	})
}
