package hl7door_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/hl7"
)

// TestTheAnswerCarriesTheCodeOfItsACK checks that Answer's Code is the
// MSA-1 the door wrote: for one message the ACK's own, for a batch the
// worst of its ACKs, and "" when MSH-15 asked for no answer.
func TestTheAnswerCarriesTheCodeOfItsACK(t *testing.T) {
	d := newDoor(t)
	noType := "MSH|^~\\&|A|B|C|D|20240101||||P|2.5\r"
	batch := func(msgs ...string) []byte {
		return []byte("BHS|^~\\&|SND|SFAC|RCV|RFAC|20240101||||B1\r" + strings.Join(msgs, "") + "BTS|" + string(rune('0'+len(msgs))) + "\r")
	}
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"a stored message in original mode is AA", message("A1", ""), "AA"},
		{"a stored message in enhanced mode is CA", message("A2", "AL"), "CA"},
		{"a message without MSH-9 is AE", []byte(noType), "AE"},
		{"no answer wanted (NE) is no code", message("A3", "NE"), ""},
		{"a batch of stored messages is AA", batch(string(message("B1", "")), string(message("B2", ""))), "AA"},
		{"a batch is as bad as its worst ACK", batch(string(message("B3", "")), noType), "AE"},
		{"a batch counts only the ACKs it holds", batch(string(message("B4", "AL")), strings.Replace(noType, "|P|2.5", "|P|2.5|||NE", 1)), "CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := d.Answer(context.Background(), tt.raw)
			if a.Code != tt.want {
				t.Fatalf("Code = %q, want %q (ACK %q)", a.Code, tt.want, a.ACK)
			}
			if got := msaCodes(a.ACK); tt.want == "" && len(got) != 0 {
				t.Fatalf("no code, but the ACK holds MSA-1 %q", got)
			} else if tt.want != "" && !hasWorst(got, tt.want) {
				t.Fatalf("Code %q is not the worst MSA-1 of the ACK (%q)", tt.want, got)
			}
			if !hl7.IsBatch(tt.raw) && tt.want != "" {
				info, err := hl7.ParseACK(a.ACK)
				if err != nil || info.Code != a.Code {
					t.Fatalf("ParseACK = %+v, %v; Code %q", info, err, a.Code)
				}
			}
		})
	}
}

func TestSubmitHL7AnswersAsAnswerDoes(t *testing.T) {
	d := newDoor(t)
	ack, out := d.SubmitHL7(context.Background(), message("S1", ""))
	a := d.Answer(context.Background(), message("S2", ""))
	if out.Status != a.Outcome.Status || len(ack) == 0 || len(a.ACK) == 0 {
		t.Fatalf("SubmitHL7 = %q %+v; Answer = %+v", ack, out, a)
	}
}

// msaCodes lists MSA-1 of every MSA segment in ack.
func msaCodes(ack []byte) []string {
	var codes []string
	for _, seg := range strings.Split(string(ack), "\r") {
		if f := strings.Split(seg, "|"); f[0] == "MSA" && len(f) > 1 {
			codes = append(codes, f[1])
		}
	}
	return codes
}

// hasWorst reports whether want is among codes and none of them is worse
// (reject over error over accept).
func hasWorst(codes []string, want string) bool {
	rank := map[byte]int{'A': 1, 'E': 2, 'R': 3}
	found := false
	for _, c := range codes {
		if len(c) != 2 || rank[c[1]] > rank[want[1]] {
			return false
		}
		found = found || c == want
	}
	return found
}
