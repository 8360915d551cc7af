package fhirpath

import (
	"testing"
)

// r4Invariant is a constraint from the R4 core definitions, with the
// element it applies to.
type r4Invariant struct {
	key, context, expr string
}

// r4Invariants are core invariants as published in R4 (4.0.1).
var r4Invariants = []r4Invariant{
	{"ele-1", "Patient.name", "hasValue() or (children().count() > id.count())"},
	{"dom-2", "Patient", "contained.contained.empty()"},
	{"dom-3", "Patient", "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()"},
	{"dom-4", "Patient", "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()"},
	{"dom-5", "Patient", "contained.meta.security.empty()"},
	{"dom-6", "Patient", "text.`div`.exists()"},
	{"txt-1", "Patient.text.div", "htmlChecks()"},
	{"txt-2", "Patient.text.div", "htmlChecks()"},
	{"pat-1", "Patient.contact", "name.exists() or telecom.exists() or address.exists() or organization.exists()"},
	{"per-1", "Patient.identifier.period", "start.hasValue().not() or end.hasValue().not() or (start <= end)"},
	{"ext-1", "Patient.birthDate.extension", "extension.exists() != value.exists()"},
	{"obs-6", "Observation", "dataAbsentReason.empty() or value.empty()"},
	{"obs-7", "Observation", "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()"},
	{"qty-3", "Observation.value", "code.empty() or system.exists()"},
	{"que-1", "Questionnaire.item", "(type='group' implies item.empty().not()) and (type.trace('type')!='display' or code.empty())"},
	{"que-2", "Questionnaire", "descendants().linkId.isDistinct()"},
	{"que-3", "Questionnaire.item", "type!='display' or code.empty()"},
	{"vsd-2", "ValueSet.compose.include", "valueSet.exists() or system.exists()"},
	{"vsd-6", "ValueSet.expansion.contains", "code.exists() or display.exists()"},
	{"bdl-7", "Bundle", "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()"},
	{"bdl-1", "Bundle", "total.empty() or (type = 'searchset') or (type = 'history')"},
}

var invariantInputs = map[string]string{
	"Patient": "patient-example.xml", "Observation": "observation-example.xml",
	"Questionnaire": "questionnaire-example.xml", "ValueSet": "valueset-example-expansion.xml",
	"CodeSystem": "codesystem-example.xml", "Bundle": "patient-example.xml",
}

// bundleOf wraps a resource in a transaction Bundle entry.
func bundleOf(r map[string]any) map[string]any {
	return map[string]any{
		"resourceType": "Bundle", "type": "transaction",
		"entry": []any{map[string]any{"fullUrl": "urn:uuid:1", "resource": r}},
	}
}

// contextNodes evaluates an invariant's context path to the elements it
// applies to.
func contextNodes(t testing.TB, resource map[string]any, context string) Collection {
	c, err := MustCompile(context).Evaluate(resource)
	if err != nil {
		t.Fatalf("context %s: %v", context, err)
	}
	return c
}

func TestR4InvariantsHoldOnTheValidExamples(t *testing.T) {
	cache := map[string]map[string]any{}
	for _, inv := range r4Invariants {
		t.Run(inv.key+" holds on the "+inv.context+" example", func(t *testing.T) {
			root := inv.context
			if i := indexByte(root, '.'); i >= 0 {
				root = root[:i]
			}
			resource := loadInput(t, invariantInputs[root], cache)
			if root == "Bundle" {
				resource = bundleOf(resource)
			}
			nodes := contextNodes(t, resource, inv.context)
			if len(nodes) == 0 {
				t.Fatalf("no %s in the example", inv.context)
			}
			// The model check must accept every core invariant at its
			// context's type.
			e, err := CompileFor(inv.expr, nodes[0].(*Node).Type, nil)
			if err != nil {
				t.Fatalf("compile for %s: %v", nodes[0].(*Node).Type, err)
			}
			for _, n := range nodes {
				ok, known, err := e.EvaluateBool(n, WithVariable("resource", Collection{&Node{JSON: resource, Type: root}}))
				if err != nil || !known || !ok {
					t.Errorf("%s on %s = %v (known %v), %v; want true", inv.key, inv.context, ok, known, err)
				}
			}
		})
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func TestR4InvariantsCatchBrokenResources(t *testing.T) {
	tests := []struct {
		name, expr string
		resource   map[string]any
	}{
		{"dom-6 fails without a narrative", "text.`div`.exists()",
			map[string]any{"resourceType": "Patient"}},
		{"dom-3 fails on a contained resource nothing refers to", invariantExpr("dom-3"),
			map[string]any{"resourceType": "Patient", "contained": []any{map[string]any{"resourceType": "Organization", "id": "o1"}}}},
		{"bdl-7 fails on a repeated fullUrl", invariantExpr("bdl-7"),
			map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": []any{
				map[string]any{"fullUrl": "urn:uuid:1", "resource": map[string]any{"resourceType": "Patient", "meta": map[string]any{"versionId": "1"}}},
				map[string]any{"fullUrl": "urn:uuid:1", "resource": map[string]any{"resourceType": "Patient", "meta": map[string]any{"versionId": "1"}}},
			}}},
		{"csd-1 fails on the suite's CodeSystem, which repeats the code chol-mass",
			"concept.code.combine($this.descendants().concept.code).isDistinct()",
			loadInput(t, "codesystem-example.xml", map[string]map[string]any{})},
		{"txt-1 fails on a script element", "text.div.htmlChecks()",
			map[string]any{"resourceType": "Patient", "text": map[string]any{"div": `<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script></div>`}}},
		{"txt-1 fails on an event handler attribute", "text.div.htmlChecks()",
			map[string]any{"resourceType": "Patient", "text": map[string]any{"div": `<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">hi</p></div>`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, known, err := MustCompile(tt.expr).EvaluateBool(tt.resource)
			if err != nil || !known || ok {
				t.Fatalf("= %v (known %v), %v; want false", ok, known, err)
			}
		})
	}
}

// invariantExpr returns the expression of a listed invariant by key.
func invariantExpr(key string) string {
	for _, inv := range r4Invariants {
		if inv.key == key {
			return inv.expr
		}
	}
	panic("no invariant " + key)
}

// benchInvariants are typical R4 invariants, evaluated on the suite's
// patient-example (bdl-7 on a Bundle holding it, obs-7 on the suite's
// observation-example, as it only applies to observations).
var benchInvariants = []r4Invariant{
	{"ele-1", "Patient.name", "hasValue() or (children().count() > id.count())"},
	{"dom-6", "Patient", "text.`div`.exists()"},
	{"pat-1", "Patient.contact", "name.exists() or telecom.exists() or address.exists() or organization.exists()"},
	{"obs-7", "Observation", "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()"},
	{"bdl-7", "Bundle", "(type = 'history') or entry.where(fullUrl.exists()).select(fullUrl&resource.meta.versionId).isDistinct()"},
	{"dom-3", "Patient", invariantExpr("dom-3")},
}

func BenchmarkCompile(b *testing.B) {
	for _, inv := range benchInvariants {
		b.Run(inv.key, func(b *testing.B) {
			for b.Loop() {
				if _, err := Compile(inv.expr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEvaluate(b *testing.B) {
	cache := map[string]map[string]any{}
	patient := loadInput(b, "patient-example.xml", cache)
	for _, inv := range benchInvariants {
		resource := patient
		switch inv.context {
		case "Bundle":
			resource = bundleOf(patient)
		case "Observation":
			resource = loadInput(b, "observation-example.xml", cache)
		}
		nodes := contextNodes(b, resource, inv.context)
		e := MustCompile(inv.expr)
		b.Run(inv.key, func(b *testing.B) {
			for b.Loop() {
				for _, n := range nodes {
					if _, err := e.Evaluate(n); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// The reference validator's htmlChecks checks names only, and official R4
// examples have narratives with no text; they must pass txt-1 and txt-2.
func TestHTMLChecksAcceptNarrativesWithoutText(t *testing.T) {
	for _, div := range []string{
		"<div xmlns=\"http://www.w3.org/1999/xhtml\">\n    </div>",
		"<div xmlns=\"http://www.w3.org/1999/xhtml\">\n<pre>\n</pre>\n</div>",
	} {
		r := map[string]any{"resourceType": "Patient", "text": map[string]any{"div": div}}
		ok, known, err := MustCompile("text.div.htmlChecks()").EvaluateBool(r)
		if err != nil || !known || !ok {
			t.Errorf("htmlChecks(%q) = %v (known %v), %v; want true", div, ok, known, err)
		}
	}
}
