// Package corpus is the repository's one test corpus per format: HL7 v2
// messages in testdata/corpus/hl7 and FHIR R4 resources in
// testdata/corpus/fhir, each listed by its manifest.tsv (file, origin,
// licence, expected verdict and the format's own columns), with the licence
// texts of their sources in testdata/corpus/licenses.
//
// Tests of any package read the corpus through this package instead of
// keeping a copy: it finds the repository from the location of its own
// source file (runtime.Caller), so it works from every package's test
// binary, whatever its working directory. Every function fails the test
// (tb.Fatal) rather than return an error: a missing corpus is a broken
// checkout, never a condition a test should tolerate.
package corpus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Format names one corpus.
type Format string

const (
	HL7  Format = "hl7"  // testdata/corpus/hl7: HL7 v2 messages and batches
	FHIR Format = "fhir" // testdata/corpus/fhir: FHIR R4 resources (JSON)
)

// Verdicts of a case.
const (
	Valid   = "valid"
	Invalid = "invalid"
)

// Case is one row of a manifest.
type Case struct {
	Format Format
	// File is the path inside the format's directory, as the manifest
	// writes it: "valid/pyhl7-sample_hl7.hl7".
	File string
	// Verdict is Valid or Invalid: the manifest's expected_verdict
	// column where it has one (FHIR), else the file's directory (HL7).
	Verdict string
	// Columns holds every column of the row by its header name (file,
	// source, license, and for HL7 message_type, version, why_invalid,
	// notes; for FHIR resourceType, expected_verdict, reason,
	// expected_outcome).
	Columns map[string]string
}

// Name is the file's base name without its extension:
// "pyhl7-sample_hl7".
func (c Case) Name() string {
	base := filepath.Base(c.File)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// Path is the file's absolute path.
func (c Case) Path() string { return filepath.Join(Dir(c.Format), filepath.FromSlash(c.File)) }

// Read returns the file's bytes.
func (c Case) Read(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(c.Path())
	if err != nil {
		tb.Fatalf("corpus: %v", err)
	}
	return b
}

// root is testdata/corpus, found from this source file.
var root = sync.OnceValue(func() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "corpus")
})

// Root returns the absolute path of testdata/corpus.
func Root() string { return root() }

// Dir returns the absolute directory of format's corpus.
func Dir(f Format) string { return filepath.Join(Root(), string(f)) }

// Licenses returns the absolute directory of the licence texts.
func Licenses() string { return filepath.Join(Root(), "licenses") }

// Path returns the absolute path of file (as the manifest writes it) in
// format's corpus.
func Path(f Format, file string) string { return filepath.Join(Dir(f), filepath.FromSlash(file)) }

// Read returns the bytes of file (as the manifest writes it, such as
// "valid/fhirconv-ADT01-28.hl7") in format's corpus.
func Read(tb testing.TB, f Format, file string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(f, file))
	if err != nil {
		tb.Fatalf("corpus: %v", err)
	}
	return b
}

type manifest struct {
	cases []Case
	err   error
}

var manifests sync.Map // Format -> func() manifest

// Cases returns every case of format's manifest, in its order.
func Cases(tb testing.TB, f Format) []Case {
	tb.Helper()
	load, _ := manifests.LoadOrStore(f, sync.OnceValue(func() manifest {
		cs, err := readManifest(f)
		return manifest{cs, err}
	}))
	m := load.(func() manifest)()
	if m.err != nil {
		tb.Fatalf("corpus: %v", m.err)
	}
	return append([]Case(nil), m.cases...)
}

// Select returns the cases of format whose verdict is verdict (Valid or
// Invalid), in manifest order.
func Select(tb testing.TB, f Format, verdict string) []Case {
	tb.Helper()
	var out []Case
	for _, c := range Cases(tb, f) {
		if c.Verdict == verdict {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("corpus: no %s case in %s", verdict, f)
	}
	return out
}

// Lookup returns the case of file (as the manifest writes it).
func Lookup(tb testing.TB, f Format, file string) Case {
	tb.Helper()
	for _, c := range Cases(tb, f) {
		if c.File == file {
			return c
		}
	}
	tb.Fatalf("corpus: %s is not in the %s manifest", file, f)
	return Case{}
}

// AddSeeds adds every file of format's corpus to a fuzz target that takes
// one []byte, so that go test runs the target over the whole corpus.
func AddSeeds(f *testing.F, format Format) {
	f.Helper()
	for _, c := range Cases(f, format) {
		f.Add(c.Read(f))
	}
}

// errManifest marks a manifest that cannot be used.
var errManifest = errors.New("bad manifest")

func readManifest(f Format) ([]Case, error) {
	if Root() == "" {
		return nil, fmt.Errorf("%w: cannot locate the corpus (runtime.Caller failed)", errManifest)
	}
	b, err := os.ReadFile(filepath.Join(Dir(f), "manifest.tsv"))
	if err != nil {
		return nil, fmt.Errorf("corpus %s: %w", f, err)
	}
	lines := strings.Split(strings.TrimSuffix(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n"), "\n")
	header := strings.Split(lines[0], "\t")
	if header[0] != "file" {
		return nil, fmt.Errorf("%w: %s: the first column is %q, want file", errManifest, f, header[0])
	}
	cases := make([]Case, 0, len(lines)-1)
	for _, line := range lines[1:] {
		if line == "" {
			continue
		}
		row := strings.Split(line, "\t")
		if len(row) != len(header) {
			return nil, fmt.Errorf("%w: %s: row %q has %d columns, the header %d", errManifest, f, row[0], len(row), len(header))
		}
		c := Case{Format: f, File: row[0], Columns: make(map[string]string, len(header))}
		for i, h := range header {
			c.Columns[h] = row[i]
		}
		dir, _, _ := strings.Cut(c.File, "/")
		c.Verdict = c.Columns["expected_verdict"]
		if c.Verdict == "" {
			c.Verdict = dir
		}
		if c.Verdict != Valid && c.Verdict != Invalid {
			return nil, fmt.Errorf("%w: %s: %s has verdict %q", errManifest, f, c.File, c.Verdict)
		}
		cases = append(cases, c)
	}
	return cases, nil
}
