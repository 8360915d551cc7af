package fhirval

import (
	"testing"
)

// TestBundleRules covers the Bundle rules the Java validator checks beyond
// the bdl-* invariants: links by Bundle type, first entries, fullUrl
// against the resource, and searchset entries by search mode.
func TestBundleRules(t *testing.T) {
	const (
		pat     = `{"resourceType":"Patient","id":"p1"}`
		obsNoID = `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`
		oo      = `{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"informational"}]}`
	)
	search := func(self, entries string) string {
		return `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"` + self + `"}],"entry":[` + entries + `]}`
	}
	tests := []strictCase{
		{"a searchset match of the searched type with an id is accepted",
			search("http://x.org/fhir/Patient?name=a", `{"fullUrl":"http://x.org/fhir/Patient/p1","resource":`+pat+`,"search":{"mode":"match"}}`), "", ""},
		{"a searchset match of another type than the search asked for is refused",
			search("http://x.org/fhir/Observation?code=a", `{"fullUrl":"http://x.org/fhir/Patient/p1","resource":`+pat+`,"search":{"mode":"match"}}`),
			"Bundle.entry[0].resource", "a search match is not of a type the search asked for"},
		{"the _type parameter names the searched types",
			search("http://x.org/fhir?_type=Observation,Patient", `{"fullUrl":"http://x.org/fhir/Patient/p1","resource":`+pat+`,"search":{"mode":"match"}}`), "", ""},
		{"a searchset match without an id is refused",
			search("http://x.org/fhir/Observation?code=a", `{"fullUrl":"urn:uuid:9d1c3e2a-0000-4000-8000-000000000001","resource":`+obsNoID+`,"search":{"mode":"match"}}`),
			"Bundle.entry[0].resource", "a search match needs an id"},
		{"a searchset include without an id is refused",
			search("http://x.org/fhir/Patient?name=a", `{"fullUrl":"urn:uuid:9d1c3e2a-0000-4000-8000-000000000001","resource":`+obsNoID+`,"search":{"mode":"include"}}`),
			"Bundle.entry[0].resource", "a search include needs an id"},
		{"a searchset outcome that is not an OperationOutcome is refused",
			search("http://x.org/fhir/Patient?name=a", `{"fullUrl":"http://x.org/fhir/Patient/p1","resource":`+pat+`,"search":{"mode":"outcome"}}`),
			"Bundle.entry[0].resource", "a search outcome must be an OperationOutcome"},
		{"a searchset outcome needs no fullUrl",
			search("http://x.org/fhir/Patient?name=a", `{"resource":`+oo+`,"search":{"mode":"outcome"}}`), "", ""},
		{"a searchset entry without a resource is refused",
			search("http://x.org/fhir/Patient?name=a", `{"fullUrl":"http://x.org/fhir/Patient/p1","search":{"mode":"match"}}`),
			"Bundle.entry[0]", "a searchset entry needs a resource"},
		{"search entries on a collection break bdl-2",
			`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"http://x.org/fhir/Patient/p1","resource":` + pat + `,"search":{"mode":"match"}}]}`,
			"Bundle", "bdl-2: "},
		{"a total on a collection breaks bdl-1",
			`{"resourceType":"Bundle","type":"collection","total":3}`, "Bundle", "bdl-1: "},
		{"two next links in a searchset are refused",
			`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"http://x.org/fhir/Patient"},{"relation":"next","url":"http://x.org/a"},{"relation":"next","url":"http://x.org/b"}]}`,
			"Bundle.link[2]", "link relation occurs more than once"},
		{"other link relations may repeat",
			`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"http://x.org/fhir/Patient"},{"relation":"alternate","url":"http://x.org/a"},{"relation":"alternate","url":"http://x.org/b"}]}`, "", ""},
		{"a paging link outside a search or history is refused",
			`{"resourceType":"Bundle","type":"collection","link":[{"relation":"next","url":"http://x.org/a"}]}`,
			"Bundle.link[0]", "a collection Bundle has no search paging links"},
		{"a document without entries is refused",
			`{"resourceType":"Bundle","type":"document","identifier":{"system":"urn:ietf:rfc:3986","value":"urn:uuid:9d1c3e2a-0000-4000-8000-000000000002"},"timestamp":"2020-01-01T00:00:00Z"}`,
			"Bundle", "a document Bundle needs a first entry"},
		{"a RESTful fullUrl naming another id than the resource's is refused",
			`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"http://x.org/fhir/Patient/p2","resource":` + pat + `}]}`,
			"Bundle.entry[0]", "fullUrl is a RESTful URL that does not end with the resource's type and id"},
		{"a RESTful fullUrl naming another type than the resource's is refused",
			`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"http://x.org/fhir/Group/p1","resource":` + pat + `}]}`,
			"Bundle.entry[0]", "fullUrl is a RESTful URL that does not end with the resource's type and id"},
		{"a RESTful fullUrl for a resource without an id is refused",
			`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"http://x.org/fhir/Observation/o1","resource":` + obsNoID + `}]}`,
			"Bundle.entry[0]", "fullUrl is a RESTful URL but the resource has no id"},
		{"a urn:uuid fullUrl need not match the id",
			`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:9d1c3e2a-0000-4000-8000-000000000003","resource":` + pat + `}]}`, "", ""},
		{"a collection entry with an identified resource needs a fullUrl",
			`{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + pat + `}]}`,
			"Bundle.entry[0]", "an entry of a collection Bundle needs a fullUrl"},
		{"a transaction entry needs no fullUrl",
			`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + pat + `,"request":{"method":"PUT","url":"Patient/p1"}}]}`, "", ""},
	}
	runStrictCases(t, tests)
}
