package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzPreferReturn: any header gives "" or one of the three return
// preferences.
func FuzzPreferReturn(f *testing.F) {
	f.Add("return=minimal")
	f.Add(`respond-async, return="OperationOutcome"; x=1`)
	f.Fuzz(func(t *testing.T, h string) {
		switch got := preferReturn([]string{h}); got {
		case "", "minimal", "representation", "OperationOutcome":
		default:
			t.Fatalf("preferReturn(%q) = %q", h, got)
		}
	})
}

// FuzzWithID: for a JSON object without an id, the answer is still a JSON
// object and now has the id; the input is never modified.
func FuzzWithID(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","active":true}`), "gen-1")
	f.Add([]byte(` {}`), "a.b-c")
	f.Fuzz(func(t *testing.T, raw []byte, id string) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil || obj == nil {
			return
		}
		if _, has := obj["id"]; has {
			return
		}
		orig := bytes.Clone(raw)
		out := withID(raw, id)
		if !bytes.Equal(raw, orig) {
			t.Fatal("withID modified its input")
		}
		var got struct {
			ID *string `json:"id"`
		}
		if err := json.Unmarshal(out, &got); err != nil || got.ID == nil {
			t.Fatalf("withID(%q, %q) = %q: %v", raw, id, out, err)
		}
		if !utf8.ValidString(id) || *got.ID == id { // invalid UTF-8 becomes U+FFFD
			return
		}
		t.Fatalf("id %q came back as %q", id, *got.ID)
	})
}
