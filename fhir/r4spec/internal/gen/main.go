// Command gen turns the published FHIR R4 (4.0.1) core definitions into the
// Go tables of package r4spec: every type's elements with their
// cardinality, types, required bindings and error-severity constraints, and
// the codes of the required-binding value sets that the core package can
// enumerate.
//
// The input is the HL7 definitions inside HAPI FHIR's
// ca.uhn.hapi.fhir:hapi-fhir-validation-resources-r4 jar from Maven Central
// (the FHIR specification's own files, CC0-1.0); fhir/r4spec/fetch.sh
// downloads it and checks its digest. Usage (from the repository root):
//
//	go run ./fhir/r4spec/internal/gen -jar "$(bash fhir/r4spec/fetch.sh)" -out fhir/r4spec/r4_gen.go
//
// The output is deterministic: running it twice gives identical bytes.
package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"log"
	"os"
	"path"
)

// Members of the jar the tables are read from.
const (
	profilesTypes     = "org/hl7/fhir/r4/model/profile/profiles-types.xml"
	profilesResources = "org/hl7/fhir/r4/model/profile/profiles-resources.xml"
)

var valueSetFiles = []string{
	"org/hl7/fhir/r4/model/valueset/valuesets.xml",
	"org/hl7/fhir/r4/model/valueset/v3-codesystems.xml",
	"org/hl7/fhir/r4/model/valueset/v2-tables.xml",
}

func main() {
	jar := flag.String("jar", "", "hapi-fhir-validation-resources-r4 jar")
	out := flag.String("out", "", "Go file to write")
	flag.Parse()
	if *jar == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*jar, *out); err != nil {
		log.Fatal(err)
	}
}

func run(jar, out string) error {
	z, err := zip.OpenReader(jar)
	if err != nil {
		return fmt.Errorf("open jar: %w", err)
	}
	defer z.Close()
	read := func(name string) (*node, error) {
		f, err := z.Open(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer f.Close()
		n, err := parseXML(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return n, nil
	}
	var sds, others []*node
	for _, name := range []string{profilesTypes, profilesResources, profilesOthers} {
		b, err := read(name)
		if err != nil {
			return err
		}
		for _, r := range resources(b) {
			switch {
			case r.name != "StructureDefinition":
			case name == profilesOthers:
				others = append(others, r)
			default:
				sds = append(sds, r)
			}
		}
	}
	t, err := buildTables(sds)
	if err != nil {
		return err
	}
	exts, err := read(extensionDefinitions)
	if err != nil {
		return err
	}
	if t.extensions, err = extensionRows(resources(exts)); err != nil {
		return err
	}
	t.profiles = profileRows(append(append([]*node(nil), sds...), others...))
	var terms []*node
	for _, name := range valueSetFiles {
		b, err := read(name)
		if err != nil {
			return err
		}
		terms = append(terms, resources(b)...)
	}
	t.valueSets, t.unchecked = expandRequired(terms, t.requiredVS)
	src, err := t.render(path.Base(jar))
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
