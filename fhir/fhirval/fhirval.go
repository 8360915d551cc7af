// Package fhirval validates FHIR R4 JSON resources for the gateway.
//
// Three layers check every body (the second only where it could find
// something):
//
//   - a JSON scanner of its own (iterative, depth-bounded, never recursive)
//     that refuses what is not RFC 8259 JSON (syntax errors, comments,
//     trailing commas, invalid UTF-8, nesting deeper than the limit; a
//     leading UTF-8 byte-order mark is skipped) and
//     reports FHIR JSON rules that need no schema (duplicate member names,
//     empty arrays/objects/strings, nulls outside arrays);
//   - github.com/google/fhir/go's validating R4 unmarshaller, whose errors
//     (unknown elements, bad primitives, unknown codes of required bindings,
//     missing required elements, references to the wrong resource type)
//     become findings with FHIRPath locations. It runs only when it could
//     say something: a walk of the same R4 descriptors over the generic
//     decode (quiet.go) recognises, by the unmarshaller's own rules or
//     stricter ones, most resources on which it would report nothing, and
//     those skip it (about two thirds of a valid resource's CPU);
//   - the R4 core definitions (package r4spec), walked over a generic
//     decode of the body: cardinality of nested elements, required
//     bindings to the core value sets, and every error-severity invariant
//     of every element present, evaluated with package fhirpath; findings
//     carry the element's location and the invariant key ("pat-1: ...");
//     the core's own extensions are checked for context, modifier use and
//     value type (extensions.go); meta.profile is checked against the
//     core's definitions and profiles (profiles.go); Bundles follow the
//     Java validator's Bundle rules (bundle.go).
//     Codes of external terminologies (SNOMED CT, LOINC, UCUM, MIME types)
//     are not checked.
//
// Strict mode makes every finding an error (but an invariant whose
// evaluation ran out of budget, and a meta.profile that names a profile
// beyond the core definitions, are warnings). Lenient mode refuses only what
// downstream consumers could not read at all (not a JSON object, no or an
// unknown resourceType) and turns everything else into warnings.
//
// Findings never contain values: locations are built from element names
// (sanitised) and indexes, messages name the rule. All functions are safe
// for concurrent use and do not retain the body.
package fhirval

import (
	"regexp"
	"sync"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"

	"github.com/hl7gw/gateway/validation"
)

// Options select the validation mode.
type Options struct {
	// Strict makes every finding an error (fhir.parser.strict=true).
	Strict bool
	// MaxDepth bounds JSON nesting; 0 means DefaultMaxDepth.
	MaxDepth int
}

// Validate checks a FHIR R4 JSON resource and returns its top-level
// resourceType ("" when there is none) and the findings, errors first in
// document order. It never panics, whatever the input.
func Validate(body []byte, opts Options) (resourceType string, findings validation.Findings) {
	doc, fs := Check(body, opts)
	return doc.ResourceType, fs
}

// Check is Validate returning the scanned top level as well (resourceType,
// id, raw top-level members), for callers that route on them. doc is never
// nil; its fields are empty when the body is not a JSON object.
func Check(body []byte, opts Options) (doc *Doc, findings validation.Findings) {
	doc, syntax, content := scan(body, opts.MaxDepth)
	if len(syntax) > 0 {
		return doc, rooted(syntax, rootOf(doc, body))
	}
	doc.scanned = false // check roots content in place: not for CheckScanned
	return doc, check(body, doc, content, opts)
}

// CheckScanned is Check for a body that Scan has already read: it returns
// the same findings without scanning the JSON again. doc must be what
// Scan(body) returned for this very body; with another depth limit, or a
// doc from elsewhere, it scans again.
func CheckScanned(body []byte, doc *Doc, opts Options) validation.Findings {
	if doc == nil || !doc.scanned || doc.badSyntax || opts.MaxDepth != 0 && opts.MaxDepth != DefaultMaxDepth {
		_, fs := Check(body, opts)
		return fs
	}
	return check(body, doc, append(validation.Findings(nil), doc.content...), opts)
}

// check runs everything after a scan without syntax errors; content is the
// scan's content findings, unrooted (check roots them in place).
func check(body []byte, doc *Doc, content validation.Findings, opts Options) (findings validation.Findings) {
	body = withoutBOM(body)
	root := rootOf(doc, body)
	switch {
	case doc.ResourceType == "" && doc.Member("resourceType") == nil:
		findings = append(findings, errorAt(validation.CodeRequiredMissing, "Resource.resourceType", "resourceType missing"))
	case doc.ResourceType == "":
		findings = append(findings, errorAt(validation.CodeDataType, "Resource.resourceType", "resourceType is not a string"))
	case !KnownResourceType(doc.ResourceType):
		findings = append(findings, errorAt(validation.CodeUnsupportedType, "Resource.resourceType", "unknown R4 resource type"))
	}
	if len(findings) > 0 {
		return findings
	}
	findings = append(findings, rooted(content, root)...)
	v, decoded := decodeGeneric(body)
	if !decoded || len(content) > 0 || !quietForGoogle(v, body) {
		findings = append(findings, unmarshalFindings(body)...)
	}
	if decoded {
		if doc.rules {
			findings = append(findings, runRulesOn(v, root)...)
		}
		if m, ok := v.(map[string]any); ok {
			findings = append(findings, definitionFindings(m, root)...)
		}
	}
	findings = dedupe(findings)
	if !opts.Strict {
		for i := range findings {
			findings[i].Severity = validation.SeverityWarning
		}
	}
	if len(findings) > maxFindings {
		findings = findings[:maxFindings]
	}
	return findings
}

// rootOf is the FHIRPath root for a document's locations. When the scan
// stopped before the top-level resourceType (a syntax error), the first
// "resourceType" member anywhere names the root, for locations only.
func rootOf(doc *Doc, body []byte) string {
	rt := doc.ResourceType
	if rt == "" && doc.Member("resourceType") == nil {
		if m := resourceTypeRe.FindSubmatch(body); m != nil {
			rt = string(m[1])
		}
	}
	if KnownResourceType(rt) {
		return rt
	}
	return "Resource"
}

var resourceTypeRe = regexp.MustCompile(`"resourceType"\s*:\s*"([A-Za-z]{1,64})"`)

// rooted prefixes scanner locations (".name[0]") with the root.
func rooted(fs validation.Findings, root string) validation.Findings {
	for i := range fs {
		fs[i].Location = root + fs[i].Location
	}
	return fs
}

func errorAt(code validation.Code, loc, msg string) validation.Finding {
	return validation.Finding{Severity: validation.SeverityError, Code: code, Location: loc, Message: msg}
}

// dedupe drops findings repeated with the same code and location (the
// scanner and google/fhir sometimes see the same problem).
func dedupe(fs validation.Findings) validation.Findings {
	if len(fs) < 2 {
		return fs
	}
	type k struct {
		c validation.Code
		l string
	}
	seen := make(map[k]struct{}, len(fs))
	out := fs[:0]
	for _, f := range fs {
		key := k{f.Code, f.Location}
		if _, ok := seen[key]; ok {
			continue
		}
		seen[key] = struct{}{}
		out = append(out, f)
	}
	return out
}

var (
	unmarshalOnce sync.Once
	unmarshaller  *jsonformat.Unmarshaller
	unmarshalErr  error
)

// r4Unmarshaller is google/fhir's validating R4 unmarshaller, built once.
// Unmarshal keeps no per-call state in it, so it is shared by goroutines.
func r4Unmarshaller() (*jsonformat.Unmarshaller, error) {
	unmarshalOnce.Do(func() {
		unmarshaller, unmarshalErr = jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
		if unmarshaller != nil {
			unmarshaller.MaxNestingDepth = DefaultMaxDepth
		}
	})
	return unmarshaller, unmarshalErr
}

// Scan checks only that body is well-formed JSON whose top level is an
// object (no comments, trailing commas, invalid UTF-8, or nesting deeper
// than DefaultMaxDepth) and returns its top level. The findings are the
// syntax errors, rooted at the resource type when known; they are errors
// in both modes. A leading UTF-8 byte-order mark is skipped, as FHIR
// servers do; the body itself is never changed. It is much cheaper than
// Validate.
func Scan(body []byte) (*Doc, validation.Findings) {
	doc, syntax, _ := scan(body, 0)
	return doc, rooted(syntax, rootOf(doc, body))
}
