package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/internal/corpus"
)

// validHL7 is a valid message of the repository's HL7 corpus.
func validHL7(name string) string { return corpus.Path(corpus.HL7, "valid/"+name) }

type bundle struct {
	ResourceType, Type string
	Entry              []struct {
		Resource struct{ ResourceType, ID string }
		Request  struct{ Method, URL string }
	}
}

func decodeBundle(t *testing.T, s string) bundle {
	t.Helper()
	var b bundle
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		t.Fatalf("not a JSON Bundle: %v\n%s", err, s)
	}
	if b.ResourceType != "Bundle" || b.Type != "transaction" || len(b.Entry) == 0 {
		t.Fatalf("not a transaction Bundle with entries: %+v", b)
	}
	for _, e := range b.Entry {
		if e.Request.Method != "PUT" || e.Request.URL != e.Resource.ResourceType+"/"+e.Resource.ID {
			t.Errorf("entry %s/%s requested as %s %s", e.Resource.ResourceType, e.Resource.ID, e.Request.Method, e.Request.URL)
		}
	}
	return b
}

func TestConvertPrintsOnePrettyTransactionBundle(t *testing.T) {
	code, out, errOut := runCLI(t, "convert", validHL7("fhirconv-ADT-A01-02.hl7"))
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if !strings.HasPrefix(out, "{\n  \"resourceType\": \"Bundle\"") {
		t.Errorf("not pretty-printed: %.80q", out)
	}
	b := decodeBundle(t, out)
	if first := b.Entry[0].Resource.ResourceType; first != "Patient" {
		t.Errorf("first entry %s, want the Patient", first)
	}
}

// TestConvertCompactPrintsOneLinePerMessage: -compact is NDJSON, one Bundle
// per message of every file, batches split.
func TestConvertCompactPrintsOneLinePerMessage(t *testing.T) {
	dir := t.TempDir()
	a01, err := os.ReadFile(validHL7("fhirconv-ADT-A01-02.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	oru, err := os.ReadFile(validHL7("lenaten-msg2.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	two := filepath.Join(dir, "two.hl7")
	if err := os.WriteFile(two, append(append(append([]byte{}, a01...), '\r'), oru...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "convert", "-compact", two, validHL7("pyhl7-sample_file1.hl7"))
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 { // two messages, then a file batch of three
		t.Fatalf("%d lines, want 5 Bundles:\n%s", len(lines), out)
	}
	for _, l := range lines {
		decodeBundle(t, l)
	}
	if got := decodeBundle(t, lines[1]).Entry; !hasType(got, "DiagnosticReport") {
		t.Errorf("the second message (ORU^R01) has no DiagnosticReport")
	}
}

func hasType(es []struct {
	Resource struct{ ResourceType, ID string }
	Request  struct{ Method, URL string }
}, typ string) bool {
	for _, e := range es {
		if e.Resource.ResourceType == typ {
			return true
		}
	}
	return false
}

// TestConvertReportsWhatCannotBeConverted: a message that cannot be
// converted is named on stderr by file, index and HL7 location, the
// others are printed (with warnings for values left out), and the exit
// code is 1.
func TestConvertReportsWhatCannotBeConverted(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "mixed.hl7")
	msgs := "MSH|^~\\&|A|F|||20240102||ADT^A08|1|P|2.5\rPID|1||1^^^H||DOE||19700101\r" +
		"MSH|^~\\&|A|F|||20240102||ADT^A08|2|P|2.5\rPID|1||2^^^H||ROE||19621352\r" +
		"MSH|^~\\&|A|F|||20240102||SIU^S12|3|P|2.5\rPID|1||3^^^H\r" +
		"MSH|^~\\&|A|F|||20240102||ADT^A40|4|P|2.5\rPID|1||4^^^H\r"
	if err := os.WriteFile(f, []byte(msgs), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "convert", "-compact", f)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("%d Bundles printed, want the two convertible messages'", n)
	}
	for _, want := range []string{f + ": message 2: warning 102 at PID-7", f + ": message 3: v2fhir: error 200 at MSH-9", f + ": message 4: v2fhir: error 101 at MRG"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "19621352") || strings.Contains(errOut, "ROE") {
		t.Errorf("stderr carries message content:\n%s", errOut)
	}
}

func TestConvertUsage(t *testing.T) {
	if code, _, _ := runCLI(t, "convert"); code != 2 {
		t.Errorf("no files: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "convert", "-zone", "Nowhere/Else", "x.hl7"); code != 2 {
		t.Errorf("unknown zone: exit %d, want 2", code)
	}
	code, out, _ := runCLI(t, "help")
	if code != 0 || !strings.Contains(out, "convert") {
		t.Errorf("gateway help does not list convert:\n%s", out)
	}
	code, out, _ = runCLI(t, "convert", "--help")
	if code != 0 || !strings.Contains(out, "-compact") || !strings.Contains(out, "transaction Bundle") {
		t.Errorf("convert --help: exit %d\n%s", code, out)
	}
}
