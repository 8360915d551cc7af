package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const inputs = "../../testdata/inputs"

var learned = []string{
	"examples-patient-example.json", "examples-observation-example.json",
	"examples-questionnaire-example.json", "examples-codesystem-example.json",
	"examples-parameters-example.json",
}

func testShapes(t *testing.T) *shapes {
	s := newShapes()
	for _, f := range learned {
		v, err := readJSON(filepath.Join(inputs, f))
		if err != nil {
			t.Fatal(err)
		}
		s.learn(v, "")
	}
	return s
}

func convertFile(t *testing.T, s *shapes, name string) *object {
	src, err := os.ReadFile(filepath.Join(inputs, name))
	if err != nil {
		t.Fatal(err)
	}
	o, err := (&converter{shapes: s}).convert(src)
	if err != nil {
		t.Fatalf("convert %s: %v", name, err)
	}
	return o
}

func TestCommittedJSONIsTheConvertersOutput(t *testing.T) {
	s := testShapes(t)
	xmls, _ := filepath.Glob(filepath.Join(inputs, "*.xml"))
	if len(xmls) == 0 {
		t.Fatal("no XML inputs")
	}
	for _, x := range xmls {
		name := filepath.Base(x)
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := write(&b, convertFile(t, s, name)); err != nil {
				t.Fatal(err)
			}
			committed, err := os.ReadFile(strings.TrimSuffix(x, ".xml") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), committed) {
				t.Errorf("%s.json differs from a fresh conversion; run go generate in fhir/fhirpath", strings.TrimSuffix(name, ".xml"))
			}
		})
	}
}

func TestConversionMatchesTheOfficialJSON(t *testing.T) {
	s := testShapes(t)
	got := convertFile(t, s, "patient-example.xml")
	var b bytes.Buffer
	if err := write(&b, got); err != nil {
		t.Fatal(err)
	}
	if err := compareWith(got, filepath.Join(inputs, "examples-patient-example.json")); err != nil {
		t.Fatal(err)
	}
}

func TestPrimitivesWithExtensionsSplitIntoUnderscoreMembers(t *testing.T) {
	src := `<Patient xmlns="http://hl7.org/fhir"><name><given value="A"/><given><extension url="u"><valueString value="x"/></extension></given></name><active value="true"/></Patient>`
	o, err := (&converter{shapes: newShapes()}).convert([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := write(&b, o); err != nil {
		t.Fatal(err)
	}
	want := `"_given": [
        null,
        {
          "extension": [`
	if !strings.Contains(b.String(), want) || !strings.Contains(b.String(), `"given": [
        "A",
        null
      ]`) {
		t.Errorf("conversion =\n%s\nwant given and _given aligned", b.String())
	}
}
