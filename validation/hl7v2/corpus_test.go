package hl7v2

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/ingest/hl7"
	"github.com/hl7gw/gateway/validation"
)

// corpusFile is one manifest row of testdata/corpus.
type corpusFile struct {
	path, source, why string
	valid             bool
}

func loadCorpus(t testing.TB) []corpusFile {
	t.Helper()
	f, err := os.Open("testdata/corpus/manifest.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusFile
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for first := true; sc.Scan(); first = false {
		cols := strings.Split(sc.Text(), "\t")
		if first || len(cols) < 6 {
			continue
		}
		src, _, _ := strings.Cut(cols[1], "@")
		out = append(out, corpusFile{path: cols[0], source: src, why: cols[5], valid: strings.HasPrefix(cols[0], "valid/")})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("empty manifest")
	}
	return out
}

// judge parses (splitting batches) and validates raw as the gateway does
// and returns every finding; a parse or batch failure is an error finding.
func judge(v *Validator, raw []byte) validation.Findings {
	msgs := [][]byte{raw}
	var out validation.Findings
	if hl7.IsBatch(raw) {
		b, err := hl7.SplitBatch(raw)
		if err != nil {
			return append(out, errorFindings(err)...)
		}
		msgs = b.Messages
		for _, f := range b.Findings {
			if v.o.Strict {
				f.Severity = validation.SeverityError
			}
			out = append(out, f)
		}
	}
	for _, mraw := range msgs {
		m, err := hl7.Parse(mraw)
		if err != nil {
			out = append(out, errorFindings(err)...)
			continue
		}
		out = append(out, v.Validate(m)...)
		_, cf := v.Charset(m)
		out = append(out, cf...)
	}
	return out
}

func errorFindings(err error) validation.Findings {
	if ve, ok := err.(*validation.Error); ok {
		return ve.Findings
	}
	return validation.Findings{{Severity: validation.SeverityError, Code: validation.CodeInternal, Message: err.Error()}}
}

func readCorpus(t testing.TB, cf corpusFile) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata/corpus", cf.path))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestCorpusDump(t *testing.T) {
	if os.Getenv("HL7V2_DUMP") == "" {
		t.Skip("set HL7V2_DUMP=1 to print strict findings of every corpus file")
	}
	v, err := New(Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for _, cf := range loadCorpus(t) {
		fs := judge(v, readCorpus(t, cf))
		var errs []string
		for _, f := range fs {
			if f.Severity == validation.SeverityError {
				errs = append(errs, f.String())
				codes[f.Code.Reason()+" "+f.Message]++
			}
		}
		ok := len(errs) == 0
		if ok != cf.valid {
			if len(errs) > 4 {
				errs = append(errs[:4], "...")
			}
			t.Logf("DISAGREE %s (valid=%v): %s", cf.path, cf.valid, strings.Join(errs, " | "))
		}
	}
	var keys []string
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return codes[keys[i]] > codes[keys[j]] })
	for _, k := range keys {
		t.Logf("%5d %s", codes[k], k)
	}
}

func TestCorpusClasses(t *testing.T) {
	if os.Getenv("HL7V2_DUMP") == "" {
		t.Skip("set HL7V2_DUMP=1")
	}
	v, _ := New(Options{Strict: true})
	combos := map[string]int{}
	for _, cf := range loadCorpus(t) {
		if !cf.valid {
			continue
		}
		set := map[string]bool{}
		for _, f := range judge(v, readCorpus(t, cf)) {
			if f.Severity == validation.SeverityError {
				k := f.Code.Reason()
				if f.Code == 103 {
					k += "(" + f.Message[len(f.Message)-4:] + ")"
				}
				set[k] = true
			}
		}
		var ks []string
		for k := range set {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		combos[strings.Join(ks, ",")]++
	}
	for k, n := range combos {
		t.Logf("%4d %s", n, k)
	}
}
