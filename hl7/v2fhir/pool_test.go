package v2fhir

import (
	"bytes"
	"sync"
	"testing"

	"github.com/hl7gw/gateway/hl7"
)

// entryCopy is an Entry with its JSON copied out of the Result's buffer.
type entryCopy struct {
	typ, id, key string
	op           Op
	json         []byte
}

func copyEntries(res *Result) []entryCopy {
	out := make([]entryCopy, len(res.Entries))
	for i, e := range res.Entries {
		// The strings are rebuilt byte by byte, so that later changes to
		// the memory they view are seen in the comparison.
		out[i] = entryCopy{string([]byte(e.Type)), string([]byte(e.ID)), string([]byte(e.Key)), e.Op, bytes.Clone(e.JSON)}
	}
	return out
}

func sameEntries(t *testing.T, what string, res *Result, want []entryCopy) {
	t.Helper()
	if len(res.Entries) != len(want) {
		t.Fatalf("%s: %d entries, want %d", what, len(res.Entries), len(want))
	}
	for i, e := range res.Entries {
		w := want[i]
		if e.Type != w.typ || e.ID != w.id || e.Key != w.key || e.Op != w.op || !bytes.Equal(e.JSON, w.json) {
			t.Fatalf("%s: entry %d is %s %s (key %s), want %s %s (key %s), or its JSON changed", what, i, e.Type, e.ID, e.Key, w.typ, w.id, w.key)
		}
	}
}

// A Result stays as it was made while later conversions, sequential and
// concurrent, reuse the pooled scratch: its ids, keys and JSON are its
// own, and conversions running at once do not mix their resources.
func TestResultsSurviveLaterConversions(t *testing.T) {
	msgs := make([]*hl7.Message, 0, len(goldenCases))
	for _, tc := range goldenCases {
		m, err := hl7.Parse(mustRead(t, corpusFile(tc.file)))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	first := make([]*Result, len(msgs))
	want := make([][]entryCopy, len(msgs))
	for i, m := range msgs {
		res, err := Convert(m, testOptions)
		if err != nil {
			t.Fatalf("%s: %v", goldenCases[i].file, err)
		}
		first[i], want[i] = res, copyEntries(res)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(msgs))
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for round := 0; round < 5; round++ {
				for k := range msgs {
					i := (k + g) % len(msgs)
					res, err := Convert(msgs[i], testOptions)
					if err != nil {
						errs <- goldenCases[i].file + ": " + err.Error()
						return
					}
					got := copyEntries(res)
					if len(got) != len(want[i]) {
						errs <- goldenCases[i].file + ": a concurrent conversion differs"
						return
					}
					for j := range got {
						if got[j].key != want[i][j].key || !bytes.Equal(got[j].json, want[i][j].json) {
							errs <- goldenCases[i].file + ": a concurrent conversion differs"
							return
						}
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i, res := range first {
		sameEntries(t, goldenCases[i].file, res, want[i])
	}
}
