package v2fhir

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// need skips the test, or fails it when env is "1" (make test sets the
// *_REQUIRED variables, so nothing is skipped silently there).
func need(t *testing.T, env, format string, args ...any) {
	t.Helper()
	if os.Getenv(env) == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (set %s=1 to fail instead)", append(args, env)...)
}

// lfhClasspath is lfh.sh's class path; the test skips without it unless
// LFH_REQUIRED=1.
func lfhClasspath(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("java"); err != nil {
		need(t, "LFH_REQUIRED", "java not found: LinuxForHealth's converter needs a JDK 17+")
	}
	out, err := exec.Command("bash", "lfh.sh", "classpath").CombinedOutput()
	if err != nil {
		need(t, "LFH_REQUIRED", "LinuxForHealth's hl7v2-fhir-converter not installed: %s", bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out))
}

// lfhRun is what LfhConvert printed: a Bundle or an error per message, and
// the CPU time of one timed pass over all of them.
type lfhRun struct {
	bundles   map[string]map[string]any // by message name; absent: not converted
	errors    map[string]string
	threadCPU time.Duration // one pass, the converting thread
	procCPU   time.Duration // one pass, the whole JVM
	passes    int
}

// runLFH converts msgs with LfhConvert, timing passes until minCPU of
// thread CPU time is spent.
func runLFH(t *testing.T, cp string, msgs []message, minCPU time.Duration) *lfhRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	args := []string{"-XX:+UseSerialGC", "-Xmx1g", "-cp", cp, "LfhConvert", "-min-cpu-ms", strconv.FormatInt(minCPU.Milliseconds(), 10)}
	byPath := map[string]string{}
	for _, m := range msgs {
		args = append(args, m.path)
		byPath[m.path] = m.name
	}
	cmd := exec.CommandContext(ctx, "java", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("LfhConvert: %v\n%s", err, tail(stderr.String(), 4000))
	}
	r := &lfhRun{bundles: map[string]map[string]any{}, errors: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "\t", 5)
		switch {
		case f[0] == "cpu-ns" && len(f) == 5:
			th, _ := strconv.ParseInt(f[1], 10, 64)
			pr, _ := strconv.ParseInt(f[2], 10, 64)
			r.threadCPU, r.procCPU = time.Duration(th), time.Duration(pr)
			r.passes, _ = strconv.Atoi(f[4])
		case len(f) == 3 && f[1] == "ok":
			b, err := decodeJSON([]byte(f[2]))
			if err != nil {
				t.Fatalf("LfhConvert's Bundle for %s: %v", f[0], err)
			}
			r.bundles[byPath[f[0]]] = b
		case len(f) == 3 && f[1] == "error":
			r.errors[byPath[f[0]]] = f[2]
		default:
			t.Fatalf("LfhConvert printed %q", tail(sc.Text(), 200))
		}
	}
	if r.threadCPU == 0 {
		t.Fatalf("LfhConvert printed no cpu-ns line:\n%s", tail(stderr.String(), 4000))
	}
	if len(r.bundles)+len(r.errors) != len(msgs) {
		t.Fatalf("LfhConvert answered %d of %d messages", len(r.bundles)+len(r.errors), len(msgs))
	}
	return r
}

// decodeJSON decodes one JSON object with numbers kept as json.Number, as
// fhirpath wants them.
func decodeJSON(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	return v, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// base is the file name of a message, for tables.
func base(name string) string { return filepath.Base(name) }
