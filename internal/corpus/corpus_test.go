package corpus

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryFileHasOneManifestRow: each manifest lists every file of its
// corpus once, and every file it lists exists, so that no case is read
// without its origin and licence and none is listed but missing.
func TestEveryFileHasOneManifestRow(t *testing.T) {
	for _, f := range []Format{HL7, FHIR} {
		t.Run(string(f), func(t *testing.T) {
			listed := map[string]bool{}
			for _, c := range Cases(t, f) {
				if listed[c.File] {
					t.Errorf("%s is listed twice", c.File)
				}
				listed[c.File] = true
				if _, err := os.Stat(c.Path()); err != nil {
					t.Errorf("listed but missing: %v", err)
				}
				if c.Columns["source"] == "" || c.Columns["license"] == "" {
					t.Errorf("%s has no source or licence", c.File)
				}
			}
			for _, dir := range []string{Valid, Invalid} {
				err := filepath.WalkDir(filepath.Join(Dir(f), dir), func(p string, d fs.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					rel, _ := filepath.Rel(Dir(f), p)
					if !listed[filepath.ToSlash(rel)] {
						t.Errorf("%s has no manifest row", rel)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestVerdictsFollowTheDirectories: a case's verdict is the directory it
// sits in, so Select(Valid) never returns a file a test expects refused.
func TestVerdictsFollowTheDirectories(t *testing.T) {
	for _, f := range []Format{HL7, FHIR} {
		n := map[string]int{}
		for _, c := range Cases(t, f) {
			dir, _, _ := strings.Cut(c.File, "/")
			if dir != c.Verdict {
				t.Errorf("%s %s: verdict %q", f, c.File, c.Verdict)
			}
			n[c.Verdict]++
		}
		if n[Valid] == 0 || n[Invalid] == 0 {
			t.Errorf("%s: %d valid and %d invalid cases, want both", f, n[Valid], n[Invalid])
		}
	}
}

func TestTheLicenceTextsAreThere(t *testing.T) {
	entries, err := os.ReadDir(Licenses())
	if err != nil || len(entries) == 0 {
		t.Fatalf("licence texts: %d files, %v", len(entries), err)
	}
}

func TestLookupAndReadAgree(t *testing.T) {
	c := Lookup(t, HL7, "valid/fhirconv-ADT01-28.hl7")
	if got, want := string(c.Read(t)), string(Read(t, HL7, c.File)); got != want || !strings.HasPrefix(got, "MSH|") {
		t.Fatalf("Read differs from Case.Read, or is not an HL7 message: %.20q", got)
	}
	if c.Name() != "fhirconv-ADT01-28" || c.Verdict != Valid {
		t.Fatalf("case %+v", c)
	}
}

// TestEveryExpectedOutcomeExists: a FHIR case's expected_outcome names a
// file of the corpus (one file may serve several cases: the 22 valid cases
// whose reference outcome has no issue share no-issues.expected-outcome.json).
func TestEveryExpectedOutcomeExists(t *testing.T) {
	n := 0
	for _, c := range Cases(t, FHIR) {
		o := c.Columns["expected_outcome"]
		if o == "" {
			continue
		}
		n++
		if _, err := os.Stat(Path(FHIR, o)); err != nil {
			t.Errorf("%s: %v", c.File, err)
		}
	}
	if n == 0 {
		t.Fatal("no FHIR case has an expected outcome")
	}
}
