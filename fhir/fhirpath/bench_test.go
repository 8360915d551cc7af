package fhirpath

import (
	"testing"
)

// benchInvariants are typical R4 invariants, evaluated on the suite's
// patient-example (bdl-7 on a Bundle holding it).
var benchInvariants = []r4Invariant{
	{"ele-1", "Patient.name", "hasValue() or (children().count() > id.count())"},
	{"dom-6", "Patient", "text.`div`.exists()"},
	{"pat-1", "Patient.contact", "name.exists() or telecom.exists() or address.exists() or organization.exists()"},
	{"obs-7", "Patient", "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()"},
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
	patient := loadInput(b, "patient-example.xml", map[string]map[string]any{})
	for _, inv := range benchInvariants {
		resource := patient
		if inv.context == "Bundle" {
			resource = bundleOf(patient)
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
