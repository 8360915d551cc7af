package hl7

import (
	"errors"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/validation"
)

const (
	bMSH1 = "MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.5\rPID|1||X\r"
	bMSH2 = "MSH|^~\\&|A|B|C|D|2024||ADT^A08|2|P|2.5\rPID|1||Y\r"
	bMSH3 = "MSH|^~\\&|A|B|C|D|2024||ADT^A03|3|P|2.5\r"
)

func TestSplitBatch(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		msgs     []string
		fhs, bhs string
		bts, fts string
		batches  int
		warnings []string
	}{
		{
			name: "a file with one batch of two messages",
			raw:  "FHS|^~\\&|F\rBHS|^~\\&|B\r" + bMSH1 + bMSH2 + "BTS|2\rFTS|1\r",
			msgs: []string{bMSH1, bMSH2}, fhs: "FHS|^~\\&|F", bhs: "BHS|^~\\&|B", bts: "BTS|2", fts: "FTS|1", batches: 1,
		},
		{
			name: "a batch without file header",
			raw:  "BHS|^~\\&\r" + bMSH1 + "BTS|1\r",
			msgs: []string{bMSH1}, bhs: "BHS|^~\\&", bts: "BTS|1", batches: 1,
		},
		{
			name: "a BHS with neither trailer is accepted",
			raw:  "BHS|^~\\&\r" + bMSH1 + bMSH2,
			msgs: []string{bMSH1, bMSH2}, bhs: "BHS|^~\\&", batches: 1,
		},
		{
			name: "a file of two batches counts both",
			raw:  "FHS|^~\\&\rBHS|^~\\&|1\r" + bMSH1 + bMSH2 + "BTS|2\rBHS|^~\\&|2\r" + bMSH3 + "BTS|1\rFTS|2",
			msgs: []string{bMSH1, bMSH2, bMSH3}, fhs: "FHS|^~\\&", bhs: "BHS|^~\\&|1", bts: "BTS|1", fts: "FTS|2", batches: 2,
		},
		{
			name: "an FHS without BHS holds messages directly",
			raw:  "FHS|^~\\&\r" + bMSH1 + bMSH3 + "FTS|1",
			msgs: []string{bMSH1, bMSH3}, fhs: "FHS|^~\\&", fts: "FTS|1",
		},
		{
			name: "an FTS closes a batch that lacks its BTS",
			raw:  "FHS|^~\\&\rBHS|^~\\&\r" + bMSH1 + "FTS|1",
			msgs: []string{bMSH1}, fhs: "FHS|^~\\&", bhs: "BHS|^~\\&", fts: "FTS|1", batches: 1,
		},
		{
			name: "a wrong BTS count is a warning",
			raw:  "BHS|^~\\&\r" + bMSH1 + bMSH2 + "BTS|3\r",
			msgs: []string{bMSH1, bMSH2}, bhs: "BHS|^~\\&", bts: "BTS|3", batches: 1,
			warnings: []string{"BTS-1"},
		},
		{
			name: "a wrong FTS count is a warning",
			raw:  "FHS|^~\\&\rBHS|^~\\&\r" + bMSH1 + "BTS|1\rFTS|7",
			msgs: []string{bMSH1}, fhs: "FHS|^~\\&", bhs: "BHS|^~\\&", bts: "BTS|1", fts: "FTS|7", batches: 1,
			warnings: []string{"FTS-1"},
		},
		{
			name: "empty counts are not checked",
			raw:  "FHS|^~\\&\rBHS|^~\\&\r" + bMSH1 + "BTS|||\rFTS||",
			msgs: []string{bMSH1}, fhs: "FHS|^~\\&", bhs: "BHS|^~\\&", bts: "BTS|||", fts: "FTS||", batches: 1,
		},
		{
			name: "line feeds and CR LF keep each message byte-exact",
			raw:  "BHS|^~\\&\r\nMSH|^~\\&|||||||ADT^A01|1\r\nPID|1\r\n\r\nMSH|^~\\&|||||||ADT^A01|2\nBTS|2\n",
			msgs: []string{"MSH|^~\\&|||||||ADT^A01|1\r\nPID|1\r\n\r\n", "MSH|^~\\&|||||||ADT^A01|2\n"},
			bhs:  "BHS|^~\\&", bts: "BTS|2", batches: 1,
		},
		{
			name: "a file with no messages splits into none",
			raw:  "FHS|^~\\&\rFTS|0\r",
			fhs:  "FHS|^~\\&", fts: "FTS|0",
		},
		{
			name: "plain messages without envelope are split at each MSH",
			raw:  bMSH1 + bMSH2,
			msgs: []string{bMSH1, bMSH2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			b, err := SplitBatch(raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Messages) != len(tt.msgs) {
				t.Fatalf("%d messages, want %d", len(b.Messages), len(tt.msgs))
			}
			for i, m := range b.Messages {
				if string(m) != tt.msgs[i] {
					t.Errorf("message %d = %q, want %q", i, m, tt.msgs[i])
				}
				if !within(raw, m) {
					t.Errorf("message %d is not a sub-slice of the input", i)
				}
				if _, err := Parse(m); err != nil {
					t.Errorf("message %d does not parse: %v", i, err)
				}
			}
			for _, c := range []struct{ got, want, what string }{
				{string(b.FHS), tt.fhs, "FHS"}, {string(b.BHS), tt.bhs, "BHS"},
				{string(b.BTS), tt.bts, "BTS"}, {string(b.FTS), tt.fts, "FTS"},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if b.Batches != tt.batches {
				t.Errorf("%d batches, want %d", b.Batches, tt.batches)
			}
			var locs []string
			for _, f := range b.Findings {
				if f.Severity != validation.SeverityWarning {
					t.Errorf("finding %v is not a warning", f)
				}
				locs = append(locs, f.Location)
			}
			if strings.Join(locs, ",") != strings.Join(tt.warnings, ",") {
				t.Errorf("warnings at %v, want %v", locs, tt.warnings)
			}
		})
	}
}

func TestSplitBatchRefusals(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		loc  string
	}{
		{"a BHS inside an open batch is nested", "BHS|^~\\&\r" + bMSH1 + "BHS|^~\\&\r" + bMSH2 + "BTS|2", "BHS"},
		{"an FHS that is not first is nested", "FHS|^~\\&\rBHS|^~\\&\r" + bMSH1 + "FHS|^~\\&\rBTS|1\rFTS|1", "FHS"},
		{"a segment before the first MSH is outside any message", "BHS|^~\\&\rPID|1\r" + bMSH1, "MSH"},
		{"a segment after BTS is outside any message", "BHS|^~\\&\r" + bMSH1 + "BTS|1\rPID|1", "MSH"},
		{"anything after FTS is refused", "FHS|^~\\&\r" + bMSH1 + "FTS|1\r" + bMSH2, "FTS"},
		{"an empty buffer is refused", "\r\n", "MSH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SplitBatch([]byte(tt.raw))
			var ve *validation.Error
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *validation.Error", err)
			}
			if f := ve.Findings[0]; f.Code != validation.CodeSegmentSequence || f.Location != tt.loc {
				t.Errorf("got %v, want code 100 at %s", f, tt.loc)
			}
		})
	}
}

func TestIsBatch(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want bool
	}{
		{"FHS starts a batch", "FHS|^~\\&", true},
		{"BHS starts a batch", "BHS|^~\\&", true},
		{"leading line breaks are skipped", "\r\nBHS|^~\\&", true},
		{"MSH is a single message", bMSH1, false},
		{"a BTS without header is not a batch", "BTS|1", false},
		{"an empty buffer is not a batch", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsBatch([]byte(tt.raw)); got != tt.want {
				t.Errorf("IsBatch = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCorpusBatchesSplitAsTheManifestSays(t *testing.T) {
	tests := []struct {
		file string
		msgs int
		err  bool
	}{
		{"valid/pyhl7-sample_file1.hl7", 3, false},
		{"valid/pyhl7-sample_file2.hl7", 2, false},
		{"valid/pyhl7-sample_file3.hl7", 1, false},
		{"valid/pyhl7-sample_file4.hl7", 1, false},
		{"valid/pyhl7-sample_batch.hl7", 1, false},
		{"valid/hl7standard-tests-data-batch.hl7", 2, false},
		{"invalid/pyhl7-sample_bad_batch1.hl7", 0, true},
		{"invalid/pyhl7-sample_bad_file2.hl7", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readCorpus(t, tt.file)
			if !IsBatch(raw) {
				t.Fatal("not recognised as a batch")
			}
			b, err := SplitBatch(raw)
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error %v", err, tt.err)
			}
			if len(b.Messages) != tt.msgs {
				t.Errorf("%d messages, want %d", len(b.Messages), tt.msgs)
			}
			if len(b.Findings) != 0 {
				t.Errorf("unexpected warnings %v", b.Findings)
			}
		})
	}
}
