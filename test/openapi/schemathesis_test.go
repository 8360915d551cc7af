// Package openapi holds a real `gateway serve` process to the OpenAPI
// document it serves at /openapi.json: schemathesis (PyPI, installed by
// setup.sh into .cache/schemathesis) generates requests from the document
// (its examples, boundary values, random and invalid bodies, parameters
// and headers) and checks every answer: no server error, only documented
// statuses, content types and headers, bodies that match their schemas,
// invalid input refused, unauthenticated calls refused, 405 with Allow for
// undeclared methods (schemathesis.toml: every check but one).
//
// answers_test.go sends what a generator does not write (another client's
// credentials, a body over the limit, a paused connector, Prefer) and
// checks those answers against the document too.
//
// The gateway runs with the embedded broker on free loopback ports and an
// API key file, so that the document's bearer security holds too.
// SCHEMATHESIS_REQUIRED=1 (set by `make test`) turns a missing schemathesis
// into a failure; otherwise the test is skipped without it.
package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/gatewayproc"
)

// maxExamples bounds the generated requests per operation and phase, so
// that the run stays well under a minute and a half on two cores.
const maxExamples = 40

// runs are the schemathesis runs against the served document. With
// bearer tokens every check of schemathesis.toml runs through all phases.
// The auth layer answers an undeclared method 401/403 before the door
// could answer 405, so a second run without authentication holds the
// door's own 405s and their Allow to the document; the checks that expect
// the declared bearer security to be enforced are left out of it.
var runs = []struct {
	name     string
	withAuth bool
	phases   string
	checks   string // "" for schemathesis.toml's
}{
	{"with bearer tokens", true, "examples,coverage,fuzzing", ""},
	{"without authentication", false, "examples,coverage",
		"not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance," +
			"response_schema_conformance,unsupported_method,allow_header_conformance"},
}

func TestServedDocumentHoldsUnderSchemathesis(t *testing.T) {
	bin := schemathesisBinary(t)
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			gw := sharedGateway(t, run.withAuth)
			runSchemathesis(t, bin, gw, run.phases, run.checks)
		})
	}
}

// runSchemathesis runs schemathesis against gw's /openapi.json and fails
// the test on any failed check.
func runSchemathesis(t *testing.T, bin string, gw *gateway, phases, checks string) {
	root, err := gatewayproc.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	docURL := "http://" + gw.HTTPAddr + "/openapi.json"
	resp, err := http.Get(docURL)
	if err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !json.Valid(doc) {
		t.Fatalf("GET /openapi.json without a token: status %d, %d bytes; want 200 and JSON", resp.StatusCode, len(doc))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"--config-file", filepath.Join(root, "test", "openapi", "schemathesis.toml"), "run", docURL,
		"--max-examples", strconv.Itoa(maxExamples),
		"--seed", "20261202",
		"--workers", "1",
		"--request-timeout", "30",
		"--phases", phases,
		"--suppress-health-check", "all",
		"--report", "ndjson", "--report-dir", filepath.Join(dir, "report"),
	}
	if gw.writer != "" {
		args = append(args, "--header", "Authorization: Bearer "+gw.writer)
	}
	if checks != "" {
		args = append(args, "--checks", checks)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir // whatever schemathesis writes stays out of the source tree
	cmd.Env = append(os.Environ(),
		"SCHEMATHESIS_HOOKS="+filepath.Join(root, "test", "openapi", "hooks.py"),
		"NO_COLOR=1", "PYTHONUNBUFFERED=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	runErr := cmd.Run()
	elapsed := time.Since(start)
	summary := summaryOf(out.String())
	t.Logf("schemathesis ran in %.1fs against %s:\n%s", elapsed.Seconds(), docURL, summary)
	if runErr != nil {
		t.Fatalf("schemathesis failed (%v); its output:\n%s\ngateway log tail:\n%s", runErr, tail(out.String(), 20000), tail(gw.logText(), 3000))
	}
	if !regexp.MustCompile(`\d+ passed`).MatchString(summary) {
		t.Fatalf("schemathesis reported no passed test cases:\n%s", out.String())
	}
	passed, failed, err := checkResults(filepath.Join(dir, "report"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	var lines []string
	for _, name := range sortedNames(passed) {
		total += passed[name]
		lines = append(lines, fmt.Sprintf("%s %d", name, passed[name]))
	}
	t.Logf("checks passed: %d (%s)", total, strings.Join(lines, ", "))
	if failed > 0 || total == 0 {
		t.Fatalf("schemathesis' event log holds %d failed and %d passed checks", failed, total)
	}
}

// checkResults counts the checks of schemathesis' ndjson event log in
// dir: passed by check name, and those that failed, erred or were
// interrupted (skipped ones count as neither).
func checkResults(dir string) (passed map[string]int, failed int, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	if err != nil || len(files) != 1 {
		return nil, 0, fmt.Errorf("schemathesis event log in %s: %v %v", dir, files, err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return nil, 0, fmt.Errorf("read event log: %w", err)
	}
	passed = map[string]int{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		var ev struct {
			ScenarioFinished *struct {
				Recorder struct {
					Checks map[string][]struct {
						Name   string `json:"name"`
						Status string `json:"status"`
					} `json:"checks"`
				} `json:"recorder"`
			}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, 0, fmt.Errorf("decode event: %w", err)
		}
		if ev.ScenarioFinished == nil {
			continue
		}
		for _, checks := range ev.ScenarioFinished.Recorder.Checks {
			for _, c := range checks {
				switch c.Status {
				case "success":
					passed[c.Name]++
				case "skip":
				default: // failure, error, interrupted
					failed++
				}
			}
		}
	}
	return passed, failed, nil
}

func sortedNames(m map[string]int) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// schemathesisBinary is the venv's schemathesis (SCHEMATHESIS overrides
// the path). Missing, it fails the test under SCHEMATHESIS_REQUIRED=1 and
// skips it otherwise.
func schemathesisBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SCHEMATHESIS")
	if bin == "" {
		root, err := gatewayproc.ModuleRoot()
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(root, ".cache", "schemathesis", "venv", "bin", "schemathesis")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("SCHEMATHESIS_REQUIRED") == "1" {
			t.Fatalf("schemathesis not found at %s (SCHEMATHESIS_REQUIRED=1): run test/openapi/setup.sh", bin)
		}
		t.Skipf("schemathesis not found at %s; run test/openapi/setup.sh", bin)
	}
	return bin
}

// summaryOf is schemathesis' closing summary: from the SUMMARY banner on.
func summaryOf(out string) string {
	if i := strings.LastIndex(out, "SUMMARY"); i >= 0 {
		return out[i:]
	}
	return tail(out, 4000)
}
