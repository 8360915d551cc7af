package fhir

import (
	"bytes"
	"strconv"

	samply "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Condition is a conditional or versioned part of a FHIR request that the
// gateway cannot honour. The gateway keeps no store: it cannot run the
// search of a conditional create, update or delete, nor compare a version
// with the current one. Doors refuse such requests before anything is
// written, never ignore them.
type Condition string

// The conditions, named by their HTTP header (or, for Search, by the search
// URL of a conditional update or delete).
const (
	CondIfNoneExist     Condition = "If-None-Exist"
	CondIfMatch         Condition = "If-Match"
	CondIfNoneMatch     Condition = "If-None-Match"
	CondIfModifiedSince Condition = "If-Modified-Since"
	CondSearch          Condition = "search"
)

// Precondition reports whether the condition is an HTTP precondition
// (answered 412 Precondition Failed) rather than a search URL (400).
func (c Condition) Precondition() bool { return c != "" && c != CondSearch }

// Element is the Bundle.entry.request element that carries the condition.
func (c Condition) Element() string {
	switch c {
	case CondIfNoneExist:
		return "ifNoneExist"
	case CondIfMatch:
		return "ifMatch"
	case CondIfNoneMatch:
		return "ifNoneMatch"
	case CondIfModifiedSince:
		return "ifModifiedSince"
	}
	return "url"
}

// Why says why the gateway cannot honour the condition, for
// OperationOutcome diagnostics.
func (c Condition) Why() string {
	switch c {
	case CondIfNoneExist:
		return "conditional create (If-None-Exist) is not supported: this write-only gateway keeps no store to search, so it cannot know whether a match exists"
	case CondIfMatch:
		return "versioned update (If-Match) is not supported: this write-only gateway keeps no store, so it cannot compare the version with the current one"
	case CondIfNoneMatch:
		return "If-None-Match is not supported: this write-only gateway keeps no store, so it cannot know whether the resource exists"
	case CondIfModifiedSince:
		return "If-Modified-Since is not supported: this write-only gateway keeps no store and serves no reads"
	}
	return "conditional update and delete (a search URL) are not supported: this write-only gateway keeps no store to search"
}

// EntryCondition is a condition found in a Bundle entry.
type EntryCondition struct {
	Index     int
	Condition Condition
}

// Location is the FHIRPath of the entry element that carries it.
func (c EntryCondition) Location() string {
	return "Bundle.entry[" + strconv.Itoa(c.Index) + "].request." + c.Condition.Element()
}

// TransactionConditions returns the conditions in the entries of a
// transaction Bundle, in entry order; nil when there are none or raw is not
// a transaction Bundle that splits (Parse then reports why). It does not
// block.
func TransactionConditions(raw []byte) []EntryCondition {
	if !bytes.Contains(raw, []byte(`"if`)) && !bytes.Contains(raw, []byte("?")) {
		return nil // fast path: no ifXxx element and no search URL
	}
	_, entries, err := splitBundle(raw, samply.BundleTypeTransaction, nil)
	if err != nil {
		return nil
	}
	var out []EntryCondition
	for _, e := range entries {
		if e.Condition != "" {
			out = append(out, EntryCondition{Index: e.Index, Condition: e.Condition})
		}
	}
	return out
}

// entryCondition is the first condition of a Bundle entry's request.
func entryCondition(be bundleEntry) Condition {
	r := be.Request
	switch {
	case r.IfNoneExist != nil:
		return CondIfNoneExist
	case r.IfMatch != nil:
		return CondIfMatch
	case r.IfNoneMatch != nil:
		return CondIfNoneMatch
	case r.IfModifiedSince != nil:
		return CondIfModifiedSince
	case r.URL != nil && bytes.IndexByte([]byte(*r.URL), '?') >= 0:
		return CondSearch
	}
	return ""
}
