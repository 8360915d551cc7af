package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/internal/corpus"
)

func TestLedgerVerdict(t *testing.T) {
	l := newLedger("Sx", 2, 4)
	l.answer("Sx-0-0", "AA")
	l.answer("Sx-0-1", "AA")
	l.answer("Sx-0-2", "")
	l.answer("Sx-1-0", "AR")
	l.answer("Sx-1-1", "AA")
	l.answer("Other-0-0", "AA") // not this run: ignored
	for _, id := range []string{"Sx-0-0", "Sx-0-0", "Sx-0-2", "Sx-1-0", "W-0-0", "", "Sx-9-0"} {
		l.found(id)
	}
	v := l.verdict()
	if v.AAMissing != 2 || strings.Join(v.MissingSample, " ") != "Sx-0-1 Sx-1-1" {
		t.Errorf("AA without record = %d %v, want 2 [Sx-0-1 Sx-1-1]", v.AAMissing, v.MissingSample)
	}
	if v.Duplicates != 1 || v.StoredNotAA != 2 || v.Foreign != 3 {
		t.Errorf("duplicates %d stored-not-AA %d foreign %d, want 1 2 3", v.Duplicates, v.StoredNotAA, v.Foreign)
	}
	if v.Answers["AA"] != 3 || v.Answers["AR"] != 1 || v.Answers["no answer"] != 1 {
		t.Errorf("answers %v", v.Answers)
	}
}

func TestBuildPayloads(t *testing.T) {
	ps, err := buildPayloads(corpus.Path(corpus.HL7, "valid/fhirconv-ADT01-28.hl7"), 3)
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].topic != "hl7.adt.a01" || string(ps[1].key) == string(ps[0].key) {
		t.Errorf("topic %q keys %q %q: want hl7.adt.a01 and distinct keys", ps[0].topic, ps[0].key, ps[1].key)
	}
	got := ps[2].render(nil, "ID-1-2")
	if !bytes.Contains(got, []byte("|ADT^A01^ADT_A01|ID-1-2|P|")) || !bytes.Contains(got, []byte("PID|1||P0000002^5^M11")) {
		t.Errorf("rendered message lacks the new MSH-10 or PID-3:\n%s", bytes.ReplaceAll(got, []byte("\r"), []byte("\n")))
	}
}

func TestParseVmRSS(t *testing.T) {
	got, err := parseVmRSS(strings.NewReader("Name:\tgateway\nVmPeak:\t  9 kB\nVmRSS:\t   2048 kB\n"))
	if err != nil || got != 2<<20 {
		t.Errorf("parseVmRSS = %d, %v; want %d", got, err, 2<<20)
	}
	if _, err := parseVmRSS(strings.NewReader("Name:\tkthread\n")); err == nil {
		t.Error("no VmRSS line: want an error")
	}
}

func TestSummariseFlatAndGrowing(t *testing.T) {
	var s []sample
	for i := range 40 {
		s = append(s, sample{At: time.Duration(i) * time.Second, RSS: 100 << 20, Phase: "load"})
	}
	r := summarise(s, 90<<20, 95<<20, 80<<20, time.Second)
	if r.Peak != 100<<20 || r.GrowthPercent != 0 || r.SlopePerMinute != 0 {
		t.Errorf("flat: %+v", r)
	}
	for i := range s {
		s[i].RSS = int64(100<<20) + int64(i)<<20 // +1 MiB/s
	}
	r = summarise(s, 90<<20, 95<<20, 80<<20, time.Second)
	if d := r.SlopePerMinute/(1<<20) - 60; d > 0.01 || d < -0.01 {
		t.Errorf("slope = %.2f MiB/min, want 60", r.SlopePerMinute/(1<<20))
	}
}
