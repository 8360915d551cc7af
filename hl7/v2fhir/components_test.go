package v2fhir

import (
	"bytes"
	"testing"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/corpus"
)

// TestComponentsReadAsTheParserReadsThem: comp, sub and valued agree with
// hl7.Rep.Component and Component.Sub on every repetition of every field
// of the corpus (valid and invalid), whatever the order the components
// are read in: forward, backward, past the last one, and interleaved with
// another repetition, which the remembered split must notice.
func TestComponentsReadAsTheParserReadsThem(t *testing.T) {
	orders := [][]int{
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25},
		{9, 4, 1, 2, 3, 40, 7, 5, 6, 8, 0, 12, 11, 10},
		{33, 32, 31, 30, 3, 2, 1},
	}
	checked := 0
	for _, verdict := range []string{corpus.Valid, corpus.Invalid} {
		for name, msgs := range corpusMessages(t, verdict) {
			for _, raw := range msgs {
				msg, err := hl7.Parse(raw)
				if err != nil {
					continue
				}
				c := &conv{d: msg.Delimiters()}
				var other hl7.Rep
				for i := 0; i < msg.NumSegments(); i++ {
					seg := msg.SegmentAt(i)
					header := bytes.HasPrefix(seg.Raw(), []byte("MSH"))
					for f := 1; f <= seg.NumFields(); f++ {
						if header && f <= 2 {
							continue // atomic: not repetitions the mappings read (see comp)
						}
						fld := seg.Field(f)
						for k := 1; k <= fld.NumReps(); k++ {
							r := fld.Rep(k)
							for _, order := range orders {
								for _, n := range order {
									checkComponent(t, name, c, r, n)
									if other.Raw() != nil {
										checkComponent(t, name, c, other, n)
									}
									checked++
								}
							}
							other = r
						}
					}
				}
			}
		}
	}
	if checked < 100000 {
		t.Fatalf("only %d component reads checked", checked)
	}
}

func checkComponent(t *testing.T, file string, c *conv, r hl7.Rep, n int) {
	t.Helper()
	if got, want := c.comp(r, n), r.Component(n).Raw(); !bytes.Equal(got, want) || cap(got) != len(got) {
		t.Fatalf("%s: %q component %d = %q (cap %d), want %q", file, r.Raw(), n, got, cap(got), want)
	}
	for s := 1; s <= 4; s++ {
		if got, want := c.sub(r, n, s), r.Component(n).Sub(s); !bytes.Equal(got, want) {
			t.Fatalf("%s: %q component %d sub %d = %q, want %q", file, r.Raw(), n, s, got, want)
		}
	}
	v := bytes.TrimSpace(r.Component(n).Raw())
	if got, want := c.valued(r, n), len(v) > 0 && string(v) != `""`; got != want {
		t.Fatalf("%s: %q valued(%d) = %v, want %v", file, r.Raw(), n, got, want)
	}
}
