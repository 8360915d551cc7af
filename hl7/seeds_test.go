package hl7

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/hl7gw/gateway/internal/corpus"
)

// offsetIn returns the offset of b inside raw (b must be within raw).
func offsetIn(raw, b []byte) int {
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.SliceData(raw))))
}

// corpusSeeds are the seed inputs each fuzz target takes from the HL7
// corpus at test time: every file for FuzzParse, the batches (and files
// with a BTS) for FuzzSplitBatch, and every distinct field holding an
// escape character, with its message's delimiters, for FuzzUnescape.
type corpusSeeds struct {
	files, batches [][]byte
	escaped        [][2][]byte // field, delimiters (MSH-1 + MSH-2)
}

func seedsFromCorpus(tb testing.TB) corpusSeeds {
	tb.Helper()
	var s corpusSeeds
	seen := map[string]bool{}
	for _, c := range corpus.Cases(tb, corpus.HL7) {
		raw := c.Read(tb)
		s.files = append(s.files, raw)
		if IsBatch(raw) || bytes.Contains(raw, []byte("BTS")) {
			s.batches = append(s.batches, raw)
		}
		m, err := Parse(raw)
		if err != nil {
			continue
		}
		enc := []byte{m.Delimiters().Field}
		enc = append(enc, m.MSH().Field(2).Raw()...)
		for i := 0; i < m.NumSegments(); i++ {
			seg := m.SegmentAt(i)
			for f := 3; f <= seg.NumFields(); f++ {
				v := seg.Field(f).Raw()
				if bytes.IndexByte(v, m.Delimiters().Escape) < 0 || seen[string(v)] || len(v) > 200 {
					continue
				}
				seen[string(v)] = true
				s.escaped = append(s.escaped, [2][]byte{v, enc})
			}
		}
	}
	return s
}

// TestCorpusSeedsCoverEveryTarget: each fuzz target gets seeds from the
// corpus, so that go test runs it over real messages, batches and escapes.
func TestCorpusSeedsCoverEveryTarget(t *testing.T) {
	s := seedsFromCorpus(t)
	if n := len(corpus.Cases(t, corpus.HL7)); len(s.files) != n {
		t.Errorf("FuzzParse: %d seeds for %d corpus files", len(s.files), n)
	}
	if len(s.batches) < 5 {
		t.Errorf("FuzzSplitBatch: %d batch seeds, want the corpus's batches (at least 5)", len(s.batches))
	}
	if len(s.escaped) < 10 {
		t.Errorf("FuzzUnescape: %d escaped fields, want at least 10", len(s.escaped))
	}
}
