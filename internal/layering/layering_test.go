// Package layering holds the test that keeps the packages in the order the
// data follows: a door hands bytes to the pipeline, the pipeline runs a
// format's steps, a format speaks the finding vocabulary. No package may
// import one above it, and the formats (with the vocabulary) do no I/O. The
// test reads the module's import graph with `go list -e -json ./...` and
// fails with the importing package, the imported one and the rule broken.
//
// A new package must be placed in a layer (the longest matching prefix of
// the table below decides); an unplaced package fails the test, so the
// table is the architecture's one written form.
package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/hl7gw/gateway"

// layer is one floor of the building. A package in it may import packages
// of its own layer and of the layers in mayImport, nothing else of the
// module.
type layer struct {
	name      string
	prefixes  []string // module-relative paths; a prefix covers its subpackages
	mayImport []string // other layers' names
	rule      string   // the sentence the test names a violation by
}

// layers, bottom to top. The connection mechanisms stand beside the data
// path, not on it: they know connections, not messages, so whatever serves
// connections (configuration, doors, the edge assembly) may use them.
var layers = []layer{
	{
		name:     "vocabulary",
		prefixes: []string{"validation"},
		rule:     "the finding vocabulary imports no package of the gateway",
	},
	{
		name:      "formats",
		prefixes:  []string{"hl7", "fhir"},
		mayImport: []string{"vocabulary"},
		rule:      "a format (codec, rules, conversion) imports only the vocabulary and other formats",
	},
	{
		name:     "mechanisms",
		prefixes: []string{"edge/netallow", "edge/tlsconf", "edge/limits", "edge/httpdrain", "edge/auth"},
		rule:     "a connection mechanism (allow-list, TLS, limits, draining, auth) imports no package of the gateway",
	},
	{
		name:      "pipeline",
		prefixes:  []string{"pipeline", "router", "publish", "topics", "config"},
		mayImport: []string{"vocabulary", "formats", "mechanisms"},
		rule:      "the pipeline, routing, publishing and their configuration import no door and nothing around the doors",
	},
	{
		name:      "doors",
		prefixes:  []string{"ingest", "proto"},
		mayImport: []string{"vocabulary", "formats", "mechanisms", "pipeline"},
		rule:      "a door or transport imports nothing that assembles, runs or diagnoses the gateway",
	},
	{
		name:      "around",
		prefixes:  []string{"edge", "cluster", "connectors", "embedded", "doctor", "loadgen"},
		mayImport: []string{"vocabulary", "formats", "mechanisms", "pipeline", "doors"},
		rule:      "the edge assembly, cluster, connectors API, embedded broker, doctor and load generator import no command",
	},
	{
		name:      "wiring",
		prefixes:  []string{"cmd"},
		mayImport: []string{"vocabulary", "formats", "mechanisms", "pipeline", "doors", "around"},
		rule:      "the commands import no test helper",
	},
	{
		name:      "tests",
		prefixes:  []string{"internal", "test", "bench"},
		mayImport: []string{"vocabulary", "formats", "mechanisms", "pipeline", "doors", "around", "wiring"},
		rule:      "test helpers, suites and benchmarks may import anything; nothing but tests imports them",
	},
}

// pureLayers do no I/O: neither they nor anything they import (transitively)
// may open a socket, run a process, log, produce to Kafka, serve gRPC or
// export metrics.
var pureLayers = []string{"vocabulary", "formats"}

// ioDeps are the packages whose presence among a pure package's transitive
// dependencies means it can do I/O: each path and its subpackages, except
// that "net" is the socket package alone (net/url and net/netip only parse).
var ioDeps = []string{
	"net", "net/http", "os/exec", "log/slog",
	"github.com/twmb/franz-go", "google.golang.org/grpc", "github.com/prometheus",
}

// fileIO are the imports a pure package's own files may not name: they
// would read or write files, call the kernel or log. fmt and friends pull
// os in transitively, so only direct imports are checked.
var fileIO = []string{"os", "syscall", "log", "io/fs"}

// fileIOAllowed are the files of pure packages that read a file a user
// named, each with its reason. An entry that no longer imports anything of
// fileIO fails the test, so the list does not outlive its reasons.
var fileIOAllowed = map[string]string{
	"hl7/conformance/profile.go": "LoadProfile reads the YAML profile named by hl7.parser.config.file or --profile",
	"fhir/fhirval/checkfile.go":  "CheckFile reads one file for `gateway validate --format fhir`",
}

// pkg is what the test needs of `go list -json`.
type pkg struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
	Error      *struct{ Err string }
}

func TestImportsFollowTheLayers(t *testing.T) {
	pkgs := listModule(t)
	for _, l := range layers {
		t.Run(l.rule, func(t *testing.T) {
			for _, p := range pkgs {
				if layerOf(rel(p.ImportPath)).name != l.name {
					continue
				}
				for _, imp := range p.Imports {
					if bad := importViolation(l, imp); bad != "" {
						t.Errorf("%s imports %s (%s)", rel(p.ImportPath), rel(imp), bad)
					}
				}
			}
		})
	}
}

func TestEveryPackageHasALayer(t *testing.T) {
	for _, p := range listModule(t) {
		if layerOf(rel(p.ImportPath)).name == "" {
			t.Errorf("%s is in no layer: add its path to the table in this file", rel(p.ImportPath))
		}
	}
}

func TestFormatsDoNoIO(t *testing.T) {
	pkgs := listModule(t)
	tools := buildTools(pkgs)
	used := map[string]bool{}
	for _, p := range pkgs {
		l := layerOf(rel(p.ImportPath)).name
		if !slices.Contains(pureLayers, l) || tools[p.ImportPath] {
			continue
		}
		seen := map[string]bool{}
		for _, d := range p.Deps {
			if root := ioRoot(d); root != "" && !seen[root] {
				seen[root] = true
				t.Errorf("%s depends on %s: a %s package does no I/O (%s)", rel(p.ImportPath), d, l, chainTo(pkgs, p, d))
			}
		}
		for _, f := range p.GoFiles {
			name := rel(p.ImportPath) + "/" + f
			for _, imp := range fileImports(t, filepath.Join(p.Dir, f)) {
				if !slices.Contains(fileIO, imp) {
					continue
				}
				if _, ok := fileIOAllowed[name]; ok {
					used[name] = true
					continue
				}
				t.Errorf("%s imports %s: a %s package does no I/O; the caller reads and hands it bytes", name, imp, l)
			}
		}
	}
	for name, why := range fileIOAllowed {
		if !used[name] {
			t.Errorf("%s is allowed file I/O (%s) but no longer does any: remove it from fileIOAllowed", name, why)
		}
	}
}

// TestRulesCatchViolations runs the checks over made-up imports, so the
// rules above are known to reject what they claim to.
func TestRulesCatchViolations(t *testing.T) {
	tests := []struct {
		name, from, to string
		bad            bool
	}{
		{"a format importing the pipeline is refused", "hl7", "pipeline", true},
		{"a format importing a door is refused", "fhir/fhirval", "ingest/hl7door", true},
		{"the vocabulary importing a format is refused", "validation", "hl7", true},
		{"the pipeline importing a door is refused", "pipeline", "ingest/mllp", true},
		{"a door importing the edge assembly is refused", "ingest/mllp", "edge", true},
		{"a door importing the command is refused", "ingest/api", "cmd/gateway", true},
		{"production code importing a test helper is refused", "publish", "internal/metrictest", true},
		{"a connection mechanism importing the pipeline is refused", "edge/netallow", "pipeline", true},
		{"a format importing another format is allowed", "hl7/v2fhir", "hl7", false},
		{"a door importing a connection mechanism is allowed", "ingest/mllp", "edge/netallow", false},
		{"configuration importing the router is allowed", "config", "router", false},
		{"the command importing a door is allowed", "cmd/gateway", "ingest/hl7door", false},
		{"a test suite importing the command's helpers is allowed", "test/fault", "internal/gatewayproc", false},
		{"a standard library import is outside the rules", "hl7", "strings", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := tt.to
			if layerOf(tt.to).name != "" {
				imp = module + "/" + tt.to
			}
			got := importViolation(layerOf(tt.from), imp)
			if (got != "") != tt.bad {
				t.Errorf("%s -> %s: violation %q, want one: %v", tt.from, tt.to, got, tt.bad)
			}
		})
	}
	for _, d := range []string{"net", "github.com/twmb/franz-go/pkg/kgo", "google.golang.org/grpc", "log/slog"} {
		if ioRoot(d) == "" {
			t.Errorf("%s is not counted as I/O", d)
		}
	}
	for _, d := range []string{"net/url", "google.golang.org/protobuf/proto", "golang.org/x/text/encoding"} {
		if ioRoot(d) != "" {
			t.Errorf("%s is counted as I/O", d)
		}
	}
}

// buildTools are the generators beneath a format's internal/ directory
// (go:generate programs and their libraries): packages that no package
// outside an internal/ directory depends on. They read the sources they
// compile into Go and are not part of the format at run time.
func buildTools(pkgs []pkg) map[string]bool {
	needed := map[string]bool{}
	for _, p := range pkgs {
		if !strings.Contains(p.ImportPath, "/internal/") {
			for _, d := range p.Deps {
				needed[d] = true
			}
		}
	}
	tools := map[string]bool{}
	for _, p := range pkgs {
		if strings.Contains(p.ImportPath, "/internal/") && !needed[p.ImportPath] {
			tools[p.ImportPath] = true
		}
	}
	return tools
}

// importViolation says why a package of layer l may not import imp, or "".
func importViolation(l layer, imp string) string {
	if !strings.HasPrefix(imp, module+"/") {
		return ""
	}
	to := layerOf(rel(imp))
	if to.name == l.name || slices.Contains(l.mayImport, to.name) {
		return ""
	}
	return "a " + l.name + " package may not import the " + to.name + " layer: " + l.rule
}

// layerOf places a module-relative path by its longest matching prefix.
func layerOf(path string) layer {
	var best layer
	n := -1
	for _, l := range layers {
		for _, pre := range l.prefixes {
			if (path == pre || strings.HasPrefix(path, pre+"/")) && len(pre) > n {
				best, n = l, len(pre)
			}
		}
	}
	return best
}

// ioRoot returns the entry of ioDeps that covers d, or "".
func ioRoot(d string) string {
	for _, x := range ioDeps {
		if d == x || (x != "net" && strings.HasPrefix(d, x+"/")) {
			return x
		}
	}
	return ""
}

// chainTo names the direct import of p through which it reaches dep.
func chainTo(pkgs []pkg, p pkg, dep string) string {
	deps := map[string][]string{}
	for _, q := range pkgs {
		deps[q.ImportPath] = q.Deps
	}
	for _, imp := range p.Imports {
		if imp == dep {
			return "imported directly"
		}
		if slices.Contains(deps[imp], dep) {
			return "through " + imp
		}
	}
	return "through a non-module import"
}

func rel(path string) string { return strings.TrimPrefix(path, module+"/") }

var listed []pkg

// listModule runs `go list -e -json ./...` at the module root once.
func listModule(t *testing.T) []pkg {
	t.Helper()
	if listed != nil {
		return listed
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	_, self, _, _ := runtime.Caller(0)
	cmd := exec.Command(goBin, "list", "-e", "-json", "./...")
	cmd.Dir = filepath.Join(filepath.Dir(self), "..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		listed = append(listed, p)
	}
	if len(listed) < 10 {
		t.Fatalf("go list found %d packages in %s; the module root is wrong", len(listed), cmd.Dir)
	}
	return listed
}

// fileImports returns the import paths one Go file names.
func fileImports(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []string
	for _, s := range f.Imports {
		p, err := strconv.Unquote(s.Path.Value)
		if err != nil {
			t.Fatalf("%s: import %s: %v", path, s.Path.Value, err)
		}
		out = append(out, p)
	}
	return out
}
