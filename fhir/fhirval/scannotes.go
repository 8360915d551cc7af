package fhirval

import (
	"bytes"
	"encoding/json"
	"sync"
)

// This file holds what the scanner notes besides syntax: duplicate member
// names, the objects that runRules could fault (so that Check skips the
// generic decode of bodies that have none), and the pool of scanner
// stacks.

// smallObject is the number of member names checked for duplicates by a
// linear search; larger objects get a map.
const smallObject = 16

// ruleKeys are bits for the member names that make an object interesting
// to runRules (see needsRules).
type ruleKeys uint8

const (
	keyStart ruleKeys = 1 << iota
	keyEnd
	keyData
	keySize
	keyEnableWhen
	keyDuplicate
)

func ruleKey(name []byte) ruleKeys {
	switch string(name) { // no allocation: the conversion is only compared
	case "start":
		return keyStart
	case "end":
		return keyEnd
	case "data":
		return keyData
	case "size":
		return keySize
	case "enableWhen":
		return keyEnableWhen
	}
	return 0
}

// duplicate records name as a member of the object top and reports
// whether it already was one: a linear search for small objects, a map
// past smallObject names (bounding the work a hostile object can cause).
func (s *scanner) duplicate(top *frame, name []byte) bool {
	if top.big != nil {
		if _, dup := top.big[string(name)]; dup {
			return true
		}
		top.big[string(name)] = struct{}{}
		return false
	}
	names := s.names[top.keysAt:]
	for _, n := range names {
		if bytes.Equal(n, name) {
			return true
		}
	}
	if len(names) < smallObject {
		s.names = append(s.names, name)
		return false
	}
	top.big = make(map[string]struct{}, 2*smallObject)
	for _, n := range names {
		top.big[string(n)] = struct{}{}
	}
	top.big[string(name)] = struct{}{}
	return false
}

// needsRules reports whether runRules could find something in the object
// f: a Period (start and end), an Attachment (data and size), a
// Questionnaire item with enableWhen, a Bundle or SearchParameter, a
// resource whose id breaks the id rule, or duplicate names (whose last
// value the generic decode keeps). It is a superset: runRules decides.
func needsRules(f *frame) bool {
	switch {
	case f.seen&(keyStart|keyEnd) == keyStart|keyEnd, f.seen&(keyData|keySize) == keyData|keySize,
		f.seen&(keyEnableWhen|keyDuplicate) != 0:
		return true
	case f.rt == nil:
		return false
	}
	rt := unquoteRaw(f.rt)
	if rt == "Bundle" || rt == "SearchParameter" {
		return true
	}
	return f.id != nil && !idRule.MatchString(unquoteRaw(f.id))
}

// unquoteRaw decodes a raw JSON string the scanner accepted.
func unquoteRaw(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1])
	}
	var v string
	_ = json.Unmarshal(raw, &v)
	return v
}

// scanners keeps the scanners' stacks between documents.
var scanners = sync.Pool{New: func() any { return new(scanner) }}

// release returns s to the pool without references into the body, unless
// a deep or wide document grew its buffers past what is worth keeping.
func (s *scanner) release() {
	if cap(s.stack) > 128 || cap(s.names) > 1024 {
		return
	}
	clear(s.stack[:cap(s.stack)])
	clear(s.names[:cap(s.names)])
	*s = scanner{stack: s.stack[:0], names: s.names[:0]}
	scanners.Put(s)
}
