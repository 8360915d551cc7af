package main

import (
	"reflect"
	"strings"
	"testing"
)

// doc parses a FHIR XML Bundle of the given resources.
func doc(t *testing.T, entries string) []*node {
	t.Helper()
	n, err := parseXML(strings.NewReader(`<Bundle xmlns="http://hl7.org/fhir">` + entries + `</Bundle>`))
	if err != nil {
		t.Fatal(err)
	}
	return resources(n)
}

const terms = `
<entry><resource><CodeSystem><url value="http://x/cs"/><content value="complete"/>
  <concept><code value="a"/><concept><code value="a1"/></concept></concept><concept><code value="b"/></concept>
</CodeSystem></resource></entry>
<entry><resource><CodeSystem><url value="http://x/frag"/><content value="fragment"/><concept><code value="z"/></concept></CodeSystem></resource></entry>
<entry><resource><ValueSet><url value="http://x/all"/><compose><include><system value="http://x/cs"/></include>
  <exclude><system value="http://x/cs"/><concept><code value="b"/></concept></exclude></compose></ValueSet></resource></entry>
<entry><resource><ValueSet><url value="http://x/isa"/><compose><include><system value="http://x/cs"/>
  <filter><property value="concept"/><op value="is-a"/><value value="a"/></filter></include></compose></ValueSet></resource></entry>
<entry><resource><ValueSet><url value="http://x/ext"/><compose><include><system value="http://loinc.org"/></include></compose></ValueSet></resource></entry>
<entry><resource><ValueSet><url value="http://x/frag-vs"/><compose><include><system value="http://x/frag"/></include></compose></ValueSet></resource></entry>
<entry><resource><ValueSet><url value="http://x/nested"/><compose><include><valueSet value="http://x/isa|4.0.1"/></include>
  <include><system value="http://y"/><concept><code value="q"/></concept></include></compose></ValueSet></resource></entry>`

func TestExpandRequired(t *testing.T) {
	required := map[string]bool{}
	for _, u := range []string{"http://x/all", "http://x/isa", "http://x/ext", "http://x/frag-vs", "http://x/nested", "http://x/missing"} {
		required[u] = true
	}
	rows, unchecked := expandRequired(doc(t, terms), required)
	wantRows := []string{
		"http://x/all\thttp://x/cs\ta\ta1",
		"http://x/isa\thttp://x/cs\ta\ta1",
		"http://x/nested\thttp://x/cs\ta\ta1",
		"http://x/nested\thttp://y\tq",
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("rows\n%q\nwant\n%q", rows, wantRows)
	}
	why := map[string]string{}
	for _, u := range unchecked {
		k, v, _ := strings.Cut(u, "\t")
		why[k] = v
	}
	for url, want := range map[string]string{
		"http://x/ext":     "external terminology",
		"http://x/frag-vs": "not complete",
		"http://x/missing": "not in the core package",
	} {
		if !strings.Contains(why[url], want) {
			t.Errorf("%s: reason %q, want %q", url, why[url], want)
		}
	}
}

func TestElementRowsKeepOwnElementsAndTypes(t *testing.T) {
	sds := doc(t, `<entry><resource><StructureDefinition>
  <url value="http://hl7.org/fhir/StructureDefinition/Thing"/><name value="Thing"/><type value="Thing"/>
  <kind value="resource"/><derivation value="specialization"/>
  <baseDefinition value="http://hl7.org/fhir/StructureDefinition/DomainResource"/>
  <snapshot>
    <element><path value="Thing"/><base><path value="Thing"/></base>
      <constraint><key value="thg-1"/><severity value="error"/><human value="h"/><expression value="a.exists()"/>
        <source value="http://hl7.org/fhir/StructureDefinition/Thing"/></constraint>
      <constraint><key value="thg-2"/><severity value="warning"/><human value="w"/><expression value="b.exists()"/></constraint></element>
    <element><path value="Thing.id"/><min value="0"/><max value="1"/><base><path value="Resource.id"/></base><type><code value="id"/></type></element>
    <element><path value="Thing.a"/><min value="1"/><max value="*"/><base><path value="Thing.a"/></base><type><code value="code"/></type>
      <binding><strength value="required"/><valueSet value="http://x/vs|4.0.1"/></binding>
      <constraint><key value="ele-1"/><severity value="error"/><expression value="hasValue()"/>
        <source value="http://hl7.org/fhir/StructureDefinition/Element"/></constraint></element>
    <element><path value="Thing.v[x]"/><min value="0"/><max value="1"/><base><path value="Thing.v[x]"/></base>
      <type><code value="string"/></type><type><code value="Quantity"/><profile value="http://hl7.org/fhir/StructureDefinition/SimpleQuantity"/></type></element>
  </snapshot></StructureDefinition></resource></entry>`)
	tb, err := buildTables(sds)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Thing\t\t\t\t\t\tthg-1",
		"Thing.a\t1\t*\tcode\t\thttp://x/vs\t",
		"Thing.v[x]\t0\t1\tstring SimpleQuantity\t\t\t",
	}
	if !reflect.DeepEqual(tb.elements, want) {
		t.Errorf("elements\n%q\nwant\n%q", tb.elements, want)
	}
	if len(tb.constraints) != 1 || !strings.HasPrefix(tb.constraints[0], "thg-1\tThing\ta.exists()") {
		t.Errorf("constraints %q: want thg-1 only (warnings and inherited ones dropped)", tb.constraints)
	}
	if !tb.requiredVS["http://x/vs"] {
		t.Error("the required value set was not recorded")
	}
}
