package fhirval

import (
	"reflect"
	"testing"

	"github.com/hl7gw/gateway/internal/corpus"
)

// shortcutBodies are edge cases for the shortcuts beside the corpus: what
// each condition must not mistake for its common case.
var shortcutBodies = []string{
	`{"resourceType":"Patient","managingOrganization":{"reference":"#x"},"contained":[{"resourceType":"Organization","id":"y","name":"o"}]}`,
	`{"resourceType":"Patient","managingOrganization":{"_reference":{"extension":[{"url":"a","valueString":"b"}]}}}`,
	`{"resourceType":"Patient","managingOrganization":{"reference":null,"display":"d"}}`,
	`{"resourceType":"Patient","extension":[{"url":"a","extension":[],"valueString":"b"}]}`,
	`{"resourceType":"Patient","extension":[{"url":"a","extension":[null]}]}`,
	`{"resourceType":"Patient","extension":[{"url":"a","_valueString":{"id":"x"}}]}`,
	`{"resourceType":"Patient","extension":[{"url":"a","valueFoo":"b"}]}`,
	`{"resourceType":"Patient","extension":[{"url":"a"}]}`,
	`{"resourceType":"Patient","extension":[{"url":"a","valueCodeableConcept":{"text":null}}]}`,
	`{"resourceType":"Patient","extension":[{"url":"a","valueCodeableConcept":{"extension":[]}}]}`,
	`{"resourceType":"Patient","extension":[{"url":"a","valueString":""}]}`,
	`{"resourceType":"Patient","extension":[{"url":"a","valueString":null}]}`,
	`{"resourceType":"Patient","telecom":[{"value":"1","system":""}]}`,
	`{"resourceType":"Patient","managingOrganization":{"reference":""}}`,
	`{"resourceType":"Patient","telecom":[{"value":"1"},{"_value":{"id":"v"}},{"value":"2","system":"phone"}]}`,
	`{"resourceType":"Observation","status":"final","code":{"text":"c"},"valueQuantity":{"code":"mg","_system":{"id":"s"}},"dataAbsentReason":{"text":"x"}}`,
	`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"s","code":"c"}]},"valueString":"v","component":[{"code":{"coding":[{"system":"s","code":"c"}]}}]}`,
	`{"resourceType":"Encounter","status":"finished","class":{"code":"c"},"period":{"start":"2020","end":"2019"}}`,
	`{"resourceType":"Encounter","status":"finished","class":{"code":"c"},"period":{"start":"2020","_end":{"id":"e"}}}`,
	`{"resourceType":"Patient","contained":[{"resourceType":"Patient","id":"p","meta":{"versionId":"1","security":[{"code":"x"}]},"contained":[{"resourceType":"Patient","id":"q"}]}]}`,
}

// TestShortcutsChangeNothing: the definitions walk finds the same with and
// without the shortcuts, on the whole corpus and the edge cases above, and
// every shortcut is read by some invariant.
func TestShortcutsChangeNothing(t *testing.T) {
	bodies := make([][]byte, 0, 512)
	for _, c := range corpus.Cases(t, corpus.FHIR) {
		bodies = append(bodies, c.Read(t))
	}
	for _, b := range shortcutBodies {
		bodies = append(bodies, []byte(b))
	}
	for _, b := range bodies {
		if with, without := walkWithAndWithoutShortcuts(b); !reflect.DeepEqual(with, without) {
			t.Errorf("%.80s: with shortcuts %v, without %v", b, with, without)
		}
	}
	used := map[string]bool{}
	for _, invs := range elementInvariants {
		for _, inv := range invs {
			if inv.holds != nil {
				used[inv.expr.String()] = true
			}
		}
	}
	for src := range shortcuts {
		if !used[src] {
			t.Errorf("no invariant reads %q: the shortcut is dead", src)
		}
	}
}

// FuzzShortcutsChangeNothing is TestShortcutsChangeNothing on any body.
func FuzzShortcutsChangeNothing(f *testing.F) {
	for _, b := range shortcutBodies {
		f.Add([]byte(b))
	}
	for _, file := range fuzzSeedValid {
		f.Add(corpus.Read(f, corpus.FHIR, file))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if with, without := walkWithAndWithoutShortcuts(body); !reflect.DeepEqual(with, without) {
			t.Fatalf("with shortcuts %v, without %v", with, without)
		}
	})
}

// walkWithAndWithoutShortcuts returns the definitions walk's findings on
// body (nil when it is not a JSON object) with the shortcuts, then with
// every one of them turned off. It changes the package's invariants while
// it runs: no test of the package runs in parallel with it.
func walkWithAndWithoutShortcuts(body []byte) (with, without any) {
	walk := func() any {
		if v, ok := decodeGeneric(withoutBOM(body)); ok {
			if m, ok := v.(map[string]any); ok {
				return definitionFindings(m, "Resource")
			}
		}
		return nil
	}
	with = walk()
	compiled(nil) // compile everything
	var off []*invariant
	for _, invs := range elementInvariants {
		for _, inv := range invs {
			if inv.holds != nil {
				off = append(off, inv)
			}
		}
	}
	held := make([]func(map[string]any) bool, len(off))
	for i, inv := range off {
		held[i], inv.holds = inv.holds, nil
	}
	defer func() {
		for i, inv := range off {
			inv.holds = held[i]
		}
	}()
	return with, walk()
}
