package fhirval

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// stdDecode is encoding/json with UseNumber, which decodeGeneric replaces.
func stdDecode(body []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil || d.More() {
		return nil, false
	}
	return v, true
}

// decodeGeneric must read every corpus body exactly as encoding/json does.
func TestDecodeGenericEqualsEncodingJSON(t *testing.T) {
	bodies := corpusBodies(t)
	bodies["escapes"] = []byte(`{"a":"\u00e9\n\"x\"","b":[1,-2.5e3,true,false,null,{}],"a":"last"}`)
	bodies["surrogates"] = []byte(`{"a":"\ud83d\ude00 \ud83d x \ude00 \u0041\t\/\\\b\f\r"}`)
	for name, body := range bodies {
		body = withoutBOM(body)
		if doc, syntax, _ := scan(body, 0); len(syntax) > 0 || doc == nil {
			continue
		}
		want, wok := stdDecode(body)
		got, gok := decodeGeneric(body)
		if wok != gok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decodeGeneric differs from encoding/json (ok %v, %v)", name, gok, wok)
		}
	}
}

func TestDecodeGenericRefusesMalformedInput(t *testing.T) {
	for _, body := range []string{``, `{`, `{"a"}`, `{"a":1,}`, `[1 2]`, `{"a":tru}`, `{"a":"x`, `{} x`, `{"a":"\u12"}`} {
		if _, ok := decodeGeneric([]byte(body)); ok {
			t.Errorf("decodeGeneric accepted %q", body)
		}
	}
}

func BenchmarkDecodeGeneric(b *testing.B) {
	bodies := benchCorpus(b)
	for i := 0; b.Loop(); i++ {
		decodeGeneric(bodies[i%len(bodies)])
	}
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	bodies := benchCorpus(b)
	for i := 0; b.Loop(); i++ {
		stdDecode(bodies[i%len(bodies)])
	}
}

// FuzzDecodeGeneric: on every body the scanner accepts, decodeGeneric
// gives encoding/json's result; on any body it never panics.
func FuzzDecodeGeneric(f *testing.F) {
	f.Add([]byte(`{"a":"\ud83d\ude00","b":[1,2.5,{"c":null}]}`))
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":["\u00e9"]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gok := decodeGeneric(body)
		if _, syntax, _ := scan(body, 0); len(syntax) > 0 {
			return
		}
		body = withoutBOM(body)
		got, gok = decodeGeneric(body)
		want, wok := stdDecode(body)
		if gok != wok || !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeGeneric %v (%v), encoding/json %v (%v)", got, gok, want, wok)
		}
	})
}
