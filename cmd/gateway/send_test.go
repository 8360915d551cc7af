package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/corpus"
)

// corpusFiles lists the valid HL7 corpus, whose files set MSH-15 to
// nothing, AL, NE and ER.
func corpusFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, c := range corpus.Select(t, corpus.HL7, corpus.Valid) {
		files = append(files, c.Path())
	}
	if len(files) < 100 {
		t.Fatalf("corpus: %d files", len(files))
	}
	return files
}

func TestSendOverTheWholeValidCorpusFinishesAndExitsZero(t *testing.T) {
	g, _ := startGateway(t, testConfig())
	files := corpusFiles(t)
	start := time.Now()
	code, out, errOut := runCLI(t, append([]string{"send", g.mllpAddr()}, append(files, "--connections", "4")...)...)
	if code != 0 {
		// Name the files that were not accepted, one connection, in order.
		_, each, _ := runCLI(t, append([]string{"send", g.mllpAddr()}, files...)...)
		var refused []string
		for _, line := range strings.Split(each, "\n") {
			if line != "" && !strings.Contains(line, "\tMSA|AA|") && !strings.Contains(line, "\tMSA|CA|") && !strings.Contains(line, "\tno answer (MSH-15 NE") && !strings.Contains(line, "\tno answer (MSH-15 ER") && !regexp.MustCompile(`\t[FB]HS\|`).MatchString(line) {
				refused = append(refused, line)
			}
		}
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s\nnot accepted:\n%s", code, out, errOut, strings.Join(refused, "\n"))
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %v: it waited for answers that never come", d)
	}
	m := regexp.MustCompile(`sent=(\d+) accepted=(\d+) not_accepted=0 answered=\d+ silent=(\d+) errors=0`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("summary %q", out)
	}
	if sent, _ := strconv.Atoi(m[1]); sent != len(files) || m[2] != m[1] || m[3] == "0" {
		t.Fatalf("summary %q: want all %d files sent and accepted, some silently (MSH-15 NE/ER)", out, len(files))
	}
}

func TestSendExitsOneWhenAMessageIsNotAccepted(t *testing.T) {
	g, _ := startGateway(t, testConfig())
	good := corpus.Path(corpus.HL7, adtA01File)
	bad := filepath.Join(t.TempDir(), "garbage.hl7")
	writeFile(t, bad, "this is not HL7")
	tests := []struct {
		name string
		args []string
	}{
		{"one file at a time", []string{"send", g.mllpAddr(), good, bad}},
		{"the load generator", []string{"send", g.mllpAddr(), good, bad, "--connections", "2", "--count", "4", "--unique-ids=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if !strings.Contains(out, "AE") {
				t.Fatalf("no AE in %q", out)
			}
		})
	}
}

func TestSendSaysWhyAMessageGotNoAnswer(t *testing.T) {
	g, _ := startGateway(t, testConfig())
	dir := t.TempDir()
	ne, er := filepath.Join(dir, "ne.hl7"), filepath.Join(dir, "er.hl7")
	writeFile(t, ne, "MSH|^~\\&|SND|FAC|GW|GWF|20240101||ADT^A01^ADT_A01|NE1|P|2.5|||NE|NE\rPID|1||123^^^H^MR\r")
	writeFile(t, er, "MSH|^~\\&|SND|FAC|GW|GWF|20240101||ADT^A01^ADT_A01|ER1|P|2.5|||ER|NE\rPID|1||123^^^H^MR\r")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, out, errOut := 0, "", ""
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, out, errOut = runCLI(t, "send", g.mllpAddr(), ne, er, "--no-answer-wait", "300ms")
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("send waited for answers MSH-15 says never come")
	}
	if code != 0 || !strings.Contains(out, "ne.hl7\tno answer (MSH-15 NE") || !strings.Contains(out, "er.hl7\tno answer (MSH-15 ER") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
