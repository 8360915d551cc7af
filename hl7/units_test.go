package hl7

import (
	"bytes"
	"testing"
)

func TestUnitsAreWhatTheDoorHandlesOneByOne(t *testing.T) {
	msg := "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||42\r"
	msg2 := "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|2|P|2.5\rPID|1||43\r"
	cases := []struct {
		name      string
		raw       string
		want      []string
		wantBatch bool
		wantSplit bool // b holds the split batch
	}{
		{"a single message is one unit", msg, []string{msg}, false, false},
		{"a batch is its messages", "BHS|^~\\&\r" + msg + msg2 + "BTS|2\r", []string{msg, msg2}, true, true},
		{"a batch that holds no message is one unit, the whole input", "BHS|^~\\&\rBTS|0\r", []string{"BHS|^~\\&\rBTS|0\r"}, true, false},
		{"a batch whose envelope cannot be split is one unit, the whole input", "BHS|^~\\&\rPID|1\r" + msg, []string{"BHS|^~\\&\rPID|1\r" + msg}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			units, b, isBatch := Units([]byte(tc.raw))
			if isBatch != tc.wantBatch || (len(b.Messages) > 0) != tc.wantSplit || len(units) != len(tc.want) {
				t.Fatalf("units %q, batch %v (%d messages), want %q, batch %v", units, isBatch, len(b.Messages), tc.want, tc.wantBatch)
			}
			for i := range units {
				if !bytes.Equal(units[i], []byte(tc.want[i])) {
					t.Fatalf("unit %d %q, want %q", i+1, units[i], tc.want[i])
				}
			}
		})
	}
}
