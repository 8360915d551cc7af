package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestExtensionRows(t *testing.T) {
	ctx := func(exprs ...string) string {
		var b strings.Builder
		for _, e := range exprs {
			b.WriteString(`<context><type value="element"/><expression value="` + e + `"/></context>`)
		}
		return b.String()
	}
	entry := func(url, contexts, modifier, value string) string {
		return `<entry><resource><StructureDefinition><url value="` + url + `"/><type value="Extension"/><derivation value="constraint"/>` + contexts +
			`<snapshot><element><path value="Extension"/>` + modifier + `</element>` + value + `</snapshot></StructureDefinition></resource></entry>`
	}
	simple := `<element><path value="Extension.value[x]"/><max value="1"/><type><code value="string"/></type><type><code value="Coding"/></type></element>`
	complexValue := `<element><path value="Extension.value[x]"/><max value="0"/><type><code value="string"/></type></element>`
	rows, err := extensionRows(doc(t,
		entry("http://x/simple", ctx("Patient", "HumanName.family"), "", simple)+
			entry("http://x/complex", ctx("Element"), "", complexValue)+
			entry("http://x/mod", ctx("NutritionOrder"), `<isModifier value="true"/>`, simple)+
			entry(sdPrefix+"capabilitystatement-prohibited", ctx("CapabilityStatement.rest"), "", simple)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		sdPrefix + "capabilitystatement-prohibited\t\tElement\tstring Coding",
		"http://x/complex\t\tElement\t-",
		"http://x/mod\t1\tNutritionOrder\tstring Coding",
		"http://x/simple\t\tPatient HumanName.family\tstring Coding",
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows\n%q\nwant\n%q", rows, want)
	}
	if _, err := extensionRows(doc(t, entry("http://x/fp", `<context><type value="fhirpath"/><expression value="a.b"/></context>`, "", simple))); err == nil {
		t.Error("a fhirpath context was accepted; the gateway only checks element contexts")
	}
}
