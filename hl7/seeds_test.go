package hl7

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unsafe"
)

// offsetIn returns the offset of b inside raw (b must be within raw).
func offsetIn(raw, b []byte) int {
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.SliceData(raw))))
}

// fuzzSeeds derives the seed inputs of each fuzz target from the corpus:
// every file for FuzzParse and FuzzSplitBatch, and every distinct field
// holding an escape character for FuzzUnescape.
func fuzzSeeds(tb testing.TB) map[string]map[string]string {
	seeds := map[string]map[string]string{"FuzzParse": {}, "FuzzSplitBatch": {}, "FuzzUnescape": {}}
	seen := map[string]bool{}
	for _, dir := range []string{"valid", "invalid"} {
		names, data := corpusFiles(tb, dir)
		for i, raw := range data {
			name := strings.TrimSuffix(names[i], ".hl7")
			entry := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", raw)
			seeds["FuzzParse"][dir+"-"+name] = entry
			if IsBatch(raw) || bytes.Contains(raw, []byte("BTS")) {
				seeds["FuzzSplitBatch"][dir+"-"+name] = entry
			}
			m, err := Parse(raw)
			if err != nil {
				continue
			}
			enc := []byte{m.Delimiters().Field}
			enc = append(enc, m.MSH().Field(2).Raw()...)
			for s := 0; s < m.NumSegments(); s++ {
				seg := m.SegmentAt(s)
				for f := 3; f <= seg.NumFields(); f++ {
					v := seg.Field(f).Raw()
					if bytes.IndexByte(v, m.Delimiters().Escape) < 0 || seen[string(v)] || len(v) > 200 {
						continue
					}
					seen[string(v)] = true
					seeds["FuzzUnescape"][fmt.Sprintf("%s-%s-%d-%d", dir, name, s, f)] =
						fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", v, enc)
				}
			}
		}
	}
	return seeds
}

// TestFuzzSeedsComeFromTheCorpus checks that every corpus-derived seed is
// in testdata/fuzz (and writes them with -update), so that go test runs
// each fuzz target over the whole corpus.
func TestFuzzSeedsComeFromTheCorpus(t *testing.T) {
	for target, entries := range fuzzSeeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		keys := make([]string, 0, len(entries))
		for k := range entries {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			t.Errorf("%s: no seeds", target)
		}
		for _, k := range keys {
			p := filepath.Join(dir, k)
			if *update {
				if err := os.WriteFile(p, []byte(entries[k]), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(p)
			if err != nil || string(got) != entries[k] {
				t.Errorf("%s: seed %s missing or stale (run go test -run FuzzSeeds -update)", target, k)
			}
		}
	}
}
