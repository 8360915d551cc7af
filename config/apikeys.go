package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// APIKey is one line of an auth.api.keys.file.
type APIKey struct {
	Name   string
	Hash   string // "sha256:<64 hex>", as `gateway hash-key` prints it
	Scopes []string
}

// LoadAPIKeys reads an API key file: one key per line, "<name>
// sha256:<hex> <scope>[,<scope>...]"; blank lines and lines starting with
// '#' are skipped. The file holds hashes only, never keys. Errors name the
// file and line, never echo a hash.
func LoadAPIKeys(path string) ([]APIKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	var keys []APIKey
	names := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("api keys: %s:%d: want \"<name> sha256:<hex> <scope>[,<scope>...]\", got %d fields", path, n, len(f))
		}
		if !strings.HasPrefix(f[1], "sha256:") {
			return nil, fmt.Errorf("api keys: %s:%d: key %q: the hash must start with sha256: (gateway hash-key prints one)", path, n, f[0])
		}
		if prev, dup := names[f[0]]; dup {
			return nil, fmt.Errorf("api keys: %s:%d: key name %q already used on line %d", path, n, f[0], prev)
		}
		names[f[0]] = n
		keys = append(keys, APIKey{Name: f[0], Hash: f[1], Scopes: splitList(f[2], ",")})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("api keys: %s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("api keys: %s: no keys", path)
	}
	return keys, nil
}
