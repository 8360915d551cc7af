package hapival

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hl7gw/gateway/fhir/fhirval"
)

const corpus = "../../testdata/corpus/fhir" // the FHIR corpus (internal/corpus reads the same)

type verdicts struct {
	expected string // valid, invalid, excluded (needs a terminology server or options)
	hapi     bool   // refused by HAPI
	gateway  bool   // refused by the gateway in strict mode
}

func TestSideBySide(t *testing.T) {
	tsv := os.Getenv("HAPIVAL_TSV")
	if tsv == "" {
		t.Skip("HAPIVAL_TSV not set: run bench/hapival/run.sh first (see doc.go)")
	}
	files, hapiCPU := readHAPI(t, tsv)
	cases := readManifest(t)
	bodies := map[string][]byte{}
	for name := range cases {
		b, err := os.ReadFile(filepath.Join(corpus, name))
		if err != nil {
			t.Fatal(err)
		}
		bodies[name] = b
	}
	for name, c := range cases {
		refused, ok := files[name]
		if !ok {
			t.Fatalf("HAPI's output has no line for %s", name)
		}
		_, fs := fhirval.Validate(bodies[name], fhirval.Options{Strict: true})
		c.hapi, c.gateway = refused, fs.HasErrors()
		cases[name] = c
	}
	start := processCPU()
	for _, b := range bodies {
		fhirval.Validate(b, fhirval.Options{Strict: true})
	}
	gwCPU := processCPU() - start
	t.Log("\n" + matrix(cases))
	for name, c := range cases {
		if c.hapi != c.gateway && c.expected != "valid" {
			t.Logf("%s (%s): HAPI refuses %v, gateway refuses %v", name, c.expected, c.hapi, c.gateway)
		}
	}
	ratio := float64(hapiCPU) / float64(gwCPU)
	t.Logf("CPU for one pass over %d resources: HAPI %.2f s (one thread), gateway %.2f s (process): %.1fx",
		len(bodies), float64(hapiCPU)/1e9, float64(gwCPU)/1e9, ratio)
	if ratio < 10 {
		t.Errorf("strict validation is %.1fx HAPI per CPU-second, issue 14 wants >= 10x", ratio)
	}
}

// matrix counts, per expected verdict, the four combinations of refusals.
func matrix(cases map[string]verdicts) string {
	type key struct {
		exp     string
		hapi    bool
		gateway bool
	}
	n := map[key]int{}
	for _, c := range cases {
		n[key{c.expected, c.hapi, c.gateway}]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %14s %14s %14s %14s\n", "expected", "both refuse", "HAPI only", "gateway only", "both accept")
	for _, e := range []string{"valid", "invalid", "excluded"} {
		fmt.Fprintf(&b, "%-10s %14d %14d %14d %14d\n", e,
			n[key{e, true, true}], n[key{e, true, false}], n[key{e, false, true}], n[key{e, false, false}])
	}
	return b.String()
}

// readHAPI reads run.sh's output: refused (errors > 0) per corpus file, and
// the timed pass's CPU nanoseconds.
func readHAPI(t *testing.T, path string) (map[string]bool, int64) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	var cpu int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != 3 {
			continue
		}
		if fs[0] == "cpu-ns" {
			cpu, _ = strconv.ParseInt(fs[1], 10, 64)
			continue
		}
		errs, err := strconv.Atoi(fs[1])
		if err != nil {
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
		out[fs[0]] = errs > 0
	}
	if cpu == 0 {
		t.Fatalf("%s: no cpu-ns line (did run.sh finish?)", path)
	}
	return out, cpu
}

// readManifest reads the corpus manifest: file -> expected verdict, with
// the invalid cases that need a terminology server or non-default options
// marked excluded, as fhirval's corpus test does.
func readManifest(t *testing.T) map[string]verdicts {
	b, err := os.ReadFile(filepath.Join(corpus, "manifest.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]verdicts{}
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 || len(f) < 6 {
			continue
		}
		exp := f[4]
		if exp == "invalid" && (strings.Contains(f[5], "[terminology-server dependent") || strings.Contains(f[5], "[non-default validator options")) {
			exp = "excluded"
		}
		out[f[0]] = verdicts{expected: exp}
	}
	return out
}

func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
