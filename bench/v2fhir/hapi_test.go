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
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHAPIValidatesConvertedCorpus converts every corpus message of a
// supported type with `gateway convert` and validates every resource of
// every Bundle with HAPI FHIR's instance validator (offline, R4 core):
// issue 16 wants no error. Warnings and information are counted, not
// failed. HAPIFHIR_TESTS=1 runs it; HAPIFHIR_REQUIRED=1 (make test) also
// fails when Java, HAPI FHIR (test/hapifhir/hapi.sh fetch) or `gateway
// convert` is missing.
func TestHAPIValidatesConvertedCorpus(t *testing.T) {
	if os.Getenv("HAPIFHIR_TESTS") != "1" && os.Getenv("HAPIFHIR_REQUIRED") != "1" {
		t.Skip("HAPIFHIR_TESTS=1 validates the converted corpus with HAPI FHIR (test/hapifhir/hapi.sh fetch first)")
	}
	cp := hapiClasspath(t)
	bin := gatewayBinary(t, "HAPIFHIR_REQUIRED")
	msgs := corpusMessages(t)
	gw := runGateway(t, bin, msgs)
	if len(gw.bundles) == 0 {
		t.Fatal("the gateway converted no message of the corpus")
	}

	// One line per distinct resource, labelled with the first message that
	// made it (a Practitioner named in many messages is validated once).
	var input bytes.Buffer
	seen := map[string]bool{}
	total := 0
	for _, name := range sortedKeys(gw.bundles) {
		for _, r := range resources(gw.bundles[name]) {
			total++
			body, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if seen[string(body)] {
				continue
			}
			seen[string(body)] = true
			fmt.Fprintf(&input, "%s#%v/%v\t%s\n", base(name), r["resourceType"], r["id"], body)
		}
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "resources.ndjson")
	if err := os.WriteFile(in, input.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	javac := exec.Command("javac", "-nowarn", "-cp", cp, "-d", dir, "HapiCheck.java")
	if out, err := javac.CombinedOutput(); err != nil {
		t.Fatalf("javac HapiCheck.java: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	java := exec.CommandContext(ctx, "java", "-XX:+UseSerialGC", "-Xss4m", "-Xmx1g", "-cp", dir+string(os.PathListSeparator)+cp, "HapiCheck", in)
	var stderr bytes.Buffer
	java.Stderr = &stderr
	out, err := java.Output()
	if err != nil {
		t.Fatalf("HapiCheck: %v\n%s", err, tail(stderr.String(), 4000))
	}

	var resourcesSeen, errs, warns, infos int
	byType := map[string][3]int{} // resource type: errors, warnings, information
	done := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		switch {
		case f[0] == "resource" && len(f) == 5:
			resourcesSeen++
			e, _ := strconv.Atoi(f[2])
			w, _ := strconv.Atoi(f[3])
			i, _ := strconv.Atoi(f[4])
			errs, warns, infos = errs+e, warns+w, infos+i
			typ := resourceType(f[1])
			c := byType[typ]
			byType[typ] = [3]int{c[0] + e, c[1] + w, c[2] + i}
		case f[0] == "error" && len(f) == 4:
			t.Errorf("HAPI: %s at %s: %s", f[1], f[2], f[3])
		case f[0] == "done":
			done = true
		}
	}
	if !done || resourcesSeen != len(seen) {
		t.Fatalf("HapiCheck validated %d of %d resources (finished: %v)\n%s", resourcesSeen, len(seen), done, tail(stderr.String(), 4000))
	}
	types := make([]string, 0, len(byType))
	for k := range byType {
		types = append(types, k)
	}
	sort.Strings(types)
	var b strings.Builder
	for _, typ := range types {
		c := byType[typ]
		fmt.Fprintf(&b, "  %-20s errors %d, warnings %d, information %d\n", typ, c[0], c[1], c[2])
	}
	t.Logf("HAPI FHIR validated %d distinct resources (%d in %d Bundles; %d messages refused by the gateway): %d errors, %d warnings, %d information\n%s",
		len(seen), total, len(gw.bundles), len(gw.errors), errs, warns, infos, b.String())
}

// hapiClasspath is test/hapifhir/hapi.sh's class path (HAPI FHIR 8.8 and
// its validator); the test skips without it unless HAPIFHIR_REQUIRED=1.
func hapiClasspath(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			need(t, "HAPIFHIR_REQUIRED", "%s not found: HAPI FHIR's validator needs a JDK 17+", tool)
		}
	}
	out, err := exec.Command("bash", "../../test/hapifhir/hapi.sh", "classpath").CombinedOutput()
	if err != nil {
		need(t, "HAPIFHIR_REQUIRED", "HAPI FHIR not installed: %s", bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out))
}

// resourceType reads "file#Type/id" labels.
func resourceType(label string) string {
	_, rest, _ := strings.Cut(label, "#")
	typ, _, _ := strings.Cut(rest, "/")
	return typ
}
