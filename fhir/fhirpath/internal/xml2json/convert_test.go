package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/internal/corpus"
)

const inputs = "../../testdata/inputs"

// learned are the official JSON examples the converter learns shapes from
// (as fhir/fhirpath's go:generate line names them). Three of them are R4
// examples of the project's FHIR corpus and are read from there, the one
// copy (internal/corpus); the other two exist only in the suite.
var learned = []string{
	corpus.Path(corpus.FHIR, "valid/r4ex-Patient-example.json"),
	corpus.Path(corpus.FHIR, "valid/r4ex-Observation-example.json"),
	corpus.Path(corpus.FHIR, "valid/r4ex-Questionnaire-3141.json"),
	filepath.Join(inputs, "examples-codesystem-example.json"),
	filepath.Join(inputs, "examples-parameters-example.json"),
}

func testShapes(t *testing.T) *shapes {
	s := newShapes()
	for _, f := range learned {
		v, err := readJSON(f)
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
	if err := compareWith(got, learned[0]); err != nil {
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
