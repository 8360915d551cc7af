package auth

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxAPIKeyFileBytes bounds an API key file (some ten thousand keys).
const MaxAPIKeyFileBytes = 1 << 20

// LoadAPIKeyFile reads an API key file: one key per line, "<name>
// sha256:<hex> <scope>[,<scope>...]", as `gateway hash-key NAME SCOPES`
// prints it; blank lines and lines starting with '#' are skipped. The file
// holds hashes only, never keys. Every line is checked as Config.Validate
// checks an APIKey (hash form, scopes), and names and hashes must be
// unique; a file without keys is an error. Errors name the file and line,
// never echo a hash.
func LoadAPIKeyFile(path string) ([]APIKey, error) {
	b, err := readAPIKeyFile(path)
	if err != nil {
		return nil, err
	}
	return parseAPIKeyFile(path, b)
}

// readAPIKeyFile reads path, bounded by MaxAPIKeyFileBytes.
func readAPIKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxAPIKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("api keys: %s: %w", path, err)
	}
	if len(b) > MaxAPIKeyFileBytes {
		return nil, fmt.Errorf("api keys: %s: larger than 1 MiB", path)
	}
	return b, nil
}

// parseAPIKeyFile parses the content b of the API key file path (named in
// errors).
func parseAPIKeyFile(path string, b []byte) ([]APIKey, error) {
	var keys []APIKey
	names := map[string]int{}
	hashes := map[[sha256.Size]byte]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 1
	for ; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("api keys: %s:%d: want \"<name> sha256:<hex> <scope>[,<scope>...]\", got %d fields", path, n, len(f))
		}
		name, hash := f[0], f[1]
		if strings.HasPrefix(name, hashPrefix) {
			// Quoting the name would echo a hash.
			return nil, fmt.Errorf("api keys: %s:%d: the first field must be the key's name, the hash comes second", path, n)
		}
		if !strings.HasPrefix(hash, hashPrefix) {
			return nil, fmt.Errorf("api keys: %s:%d: key %q: the hash must start with sha256: (gateway hash-key prints one)", path, n, name)
		}
		h, err := parseHash(hash)
		if err != nil {
			return nil, fmt.Errorf("api keys: %s:%d: key %q: %w", path, n, name, err)
		}
		if prev, dup := names[name]; dup {
			return nil, fmt.Errorf("api keys: %s:%d: key name %q already used on line %d", path, n, name, prev)
		}
		if prev, dup := hashes[h]; dup {
			return nil, fmt.Errorf("api keys: %s:%d: key %q has the same hash as the key on line %d", path, n, name, prev)
		}
		scopes := splitScopes(f[2])
		if err := validScopes(scopes); err != nil {
			return nil, fmt.Errorf("api keys: %s:%d: key %q: %w", path, n, name, err)
		}
		names[name], hashes[h] = n, n
		keys = append(keys, APIKey{Name: name, Hash: hash, Scopes: scopes})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("api keys: %s:%d: %w", path, n, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("api keys: %s: no keys", path)
	}
	return keys, nil
}

// splitScopes splits a comma-separated scope list, dropping empty entries.
func splitScopes(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
