package main

import (
	"fmt"
	"sort"
	"strings"
)

// Members of the jar holding the core's extension definitions and its
// other profiles (vitalsigns, the lipid profile, ...).
const (
	extensionDefinitions = "org/hl7/fhir/r4/model/extension/extension-definitions.xml"
	profilesOthers       = "org/hl7/fhir/r4/model/profile/profiles-others.xml"
)

// contextFixes are the corrections the HL7 Java validator applies to the
// published contexts of a few core extensions (InstanceValidator's
// fixContexts): the contexts as published name places the extensions are
// not meant for, or too few of them. Keyed by URL and context index.
var contextFixes = map[string]map[int]string{
	sdPrefix + "structuredefinition-fhir-type":         {0: "ElementDefinition.type"},
	sdPrefix + "regex":                                 {1: "ElementDefinition.type"},
	sdPrefix + "structuredefinition-normative-version": {0: "Element"},
	sdPrefix + "capabilitystatement-expectation":       {0: "Element"},
	sdPrefix + "capabilitystatement-prohibited":        {0: "Element"},
}

// extensionRows reads the core extension definitions: for each, its URL,
// whether it is a modifier extension, the element contexts it may be
// used in, and the types its value[x] allows ("-" when it takes no value:
// a complex extension).
func extensionRows(sds []*node) ([]string, error) {
	var rows []string
	for _, sd := range sds {
		url := sd.val("url")
		if sd.val("type") != "Extension" || sd.val("derivation") != "constraint" {
			return nil, fmt.Errorf("%s: not an extension definition", url)
		}
		var contexts []string
		fixes := 0
		for i, c := range sd.all("context") {
			if c.val("type") != "element" {
				return nil, fmt.Errorf("%s: context type %q", url, c.val("type"))
			}
			expr := c.val("expression")
			if fixed, ok := contextFixes[url][i]; ok {
				expr = fixed
				fixes++
			}
			if expr == "" || strings.ContainsAny(expr, " \t") {
				return nil, fmt.Errorf("%s: context %q", url, expr)
			}
			contexts = append(contexts, expr)
		}
		if fixes != len(contextFixes[url]) {
			return nil, fmt.Errorf("%s: %d contexts, the fixes expect more", url, len(contexts))
		}
		modifier, values := "", "-"
		for _, el := range sd.one("snapshot").all("element") {
			switch el.val("path") {
			case "Extension":
				if el.val("isModifier") == "true" {
					modifier = "1"
				}
			case "Extension.value[x]":
				if el.val("max") == "0" {
					continue
				}
				var types []string
				for _, ty := range el.all("type") {
					types = append(types, strings.TrimPrefix(ty.val("code"), systemTypeURL))
				}
				values = strings.Join(types, " ")
			}
		}
		rows = append(rows, strings.Join([]string{url, modifier, strings.Join(contexts, " "), values}, "\t"))
	}
	sort.Strings(rows)
	return rows, nil
}

// profileRows lists the core's constraint profiles on resources and data
// types (profiles-others.xml, and those in the type and resource files):
// URL and the type each constrains. The gateway does not check them; it
// knows them so that meta.profile naming one is told apart from a profile
// nothing defines.
func profileRows(sds []*node) []string {
	var rows []string
	for _, sd := range sds {
		if sd.val("derivation") != "constraint" || sd.val("type") == "Extension" {
			continue
		}
		rows = append(rows, sd.val("url")+"\t"+sd.val("type"))
	}
	sort.Strings(rows)
	return rows
}
