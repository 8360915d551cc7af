package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// This file makes the "stored" form of a resource: what a FHIR server would
// have stored for the request, so that consumers of fhir.* records need not
// see the HTTP request. The resource keeps its members in their order and
// their values byte for byte, except:
//
//   - "id" is the id the resource is stored under (assigned on a create
//     without one; a transaction create keeps the id it had or gets one);
//   - "meta.versionId" and "meta.lastUpdated" are the version the request
//     made and the receipt time (other meta members are kept);
//   - in a transaction, a "reference" whose value is the fullUrl of another
//     entry becomes that entry's "Type/id" (FHIR transaction rules).
//
// Whitespace between top-level members is not kept.

// errNotObject is returned when a body is not a JSON object. Parse refuses
// such bodies before Route, so it means a programming error.
var errNotObject = errors.New("resource is not a JSON object")

// InstantFormat is how meta.lastUpdated is written: a FHIR instant with
// millisecond precision.
const InstantFormat = "2006-01-02T15:04:05.000Z07:00"

// member is one top-level member of a JSON object, its value as raw bytes.
type member struct {
	name    string
	rawName []byte // the name as written, with its quotes; nil for new members
	raw     json.RawMessage
}

// StoredForm returns body with id, meta.versionId and meta.lastUpdated set
// and, when refs is not empty, every reference found in refs rewritten.
// body is not modified.
func StoredForm(body []byte, id, versionID string, lastUpdated time.Time, refs map[string]string) ([]byte, error) {
	if len(refs) > 0 {
		body = rewriteReferences(body, refs)
	}
	members, err := objectMembers(body)
	if err != nil {
		return nil, err
	}
	meta, err := withMeta(memberValue(members, "meta"), versionID, lastUpdated)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	members = setMember(members, "id", quote(id), "resourceType")
	members = setMember(members, "meta", meta, "id")
	return encodeObject(members, len(body)+len(meta)+len(id)+16), nil
}

// withMeta returns the meta object raw (nil when absent) with versionId and
// lastUpdated set.
func withMeta(raw json.RawMessage, versionID string, lastUpdated time.Time) (json.RawMessage, error) {
	var members []member
	if len(raw) > 0 {
		var err error
		if members, err = objectMembers(raw); err != nil {
			return nil, err
		}
	}
	members = setMember(members, "versionId", quote(versionID), "")
	members = setMember(members, "lastUpdated", quote(lastUpdated.UTC().Format(InstantFormat)), "versionId")
	return encodeObject(members, len(raw)+96), nil
}

// objectMembers splits a JSON object into its members, in order, without
// decoding values: Parse has already checked the syntax with fhirval's
// scanner, so only the bounds of each value are found here. It fails
// rather than guess on anything that is not an object.
func objectMembers(raw []byte) ([]member, error) {
	i := 0
	if bytes.HasPrefix(raw, utf8BOM) {
		i = len(utf8BOM) // accepted by the scanner; the stored form has none
	}
	i = skipSpace(raw, i)
	if i >= len(raw) || raw[i] != '{' {
		return nil, errNotObject
	}
	var out []member
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return out, trailing(raw, i+1)
	}
	for i < len(raw) {
		end := stringEnd(raw, i)
		if end < 0 {
			return nil, errNotObject
		}
		name := string(raw[i+1 : end-1])
		if bytes.IndexByte(raw[i:end], '\\') >= 0 {
			if err := json.Unmarshal(raw[i:end], &name); err != nil {
				return nil, fmt.Errorf("member name: %w", err)
			}
		}
		rawName := raw[i:end]
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return nil, errNotObject
		}
		start := skipSpace(raw, i+1)
		stop := valueEnd(raw, start)
		if stop < 0 {
			return nil, errNotObject
		}
		out = append(out, member{name: name, rawName: rawName, raw: raw[start:stop]})
		i = skipSpace(raw, stop)
		switch {
		case i < len(raw) && raw[i] == ',':
			i = skipSpace(raw, i+1)
		case i < len(raw) && raw[i] == '}':
			return out, trailing(raw, i+1)
		default:
			return nil, errNotObject
		}
	}
	return nil, errNotObject
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// trailing fails when anything but whitespace follows offset i.
func trailing(raw []byte, i int) error {
	if skipSpace(raw, i) != len(raw) {
		return errNotObject
	}
	return nil
}

// valueEnd is the offset just past the JSON value starting at b[i], or -1.
// Strings are skipped with their escapes; objects and arrays by counting
// brackets outside strings; scalars run to the next delimiter.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func memberValue(ms []member, name string) json.RawMessage {
	for _, m := range ms {
		if m.name == name {
			return m.raw
		}
	}
	return nil
}

// setMember replaces the value of name, or inserts the member right after
// the member named after (at the start when after is absent or "").
func setMember(ms []member, name string, raw json.RawMessage, after string) []member {
	for i := range ms {
		if ms[i].name == name {
			ms[i].raw = raw
			return ms
		}
	}
	at := 0
	for i := range ms {
		if after != "" && ms[i].name == after {
			at = i + 1
			break
		}
	}
	ms = append(ms, member{})
	copy(ms[at+1:], ms[at:])
	ms[at] = member{name: name, raw: raw}
	return ms
}

func encodeObject(ms []member, size int) []byte {
	out := make([]byte, 0, size)
	out = append(out, '{')
	for i, m := range ms {
		if i > 0 {
			out = append(out, ',')
		}
		if m.rawName != nil {
			out = append(out, m.rawName...)
		} else {
			out = append(out, quote(m.name)...)
		}
		out = append(out, ':')
		out = append(out, m.raw...)
	}
	return append(out, '}')
}

// quote is s as a JSON string.
func quote(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

var referenceKey = []byte(`"reference"`)

// rewriteReferences returns body with the value of every "reference"
// member that refs maps replaced by its mapping. In valid JSON the bytes
// "reference" (with their quotes) followed by a colon can only be a member
// name: inside a string the quotes would be escaped. Values are compared
// after unescaping. body is returned itself when nothing changes.
func rewriteReferences(body []byte, refs map[string]string) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(body); {
		k := bytes.Index(body[i:], referenceKey)
		if k < 0 {
			break
		}
		p := skipSpace(body, i+k+len(referenceKey))
		i = i + k + len(referenceKey)
		if p >= len(body) || body[p] != ':' {
			continue
		}
		start := skipSpace(body, p+1)
		end := stringEnd(body, start)
		if end < 0 {
			continue
		}
		var v string
		if json.Unmarshal(body[start:end], &v) != nil {
			continue
		}
		to, ok := refs[v]
		if !ok {
			continue
		}
		out = append(out, body[last:start]...)
		out = append(out, quote(to)...)
		last, i = end, end
	}
	if out == nil {
		return body
	}
	return append(out, body[last:]...)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd is the offset just past the JSON string starting at b[i], or
// -1 when b[i] does not start a string.
func stringEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}
