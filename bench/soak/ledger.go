package main

import (
	"strconv"
	"strings"
	"sync/atomic"
)

// Answer codes as kept by the ledger: one byte per message.
const (
	codeNone    byte = iota // never attempted
	codeNoReply             // transport error: no answer
	codeAA
	codeAE
	codeAR
	codeOther
)

var codeNames = [...]string{"none", "no answer", "AA", "AE", "AR", "other"}

func codeOf(s string) byte {
	switch s {
	case "":
		return codeNoReply
	case "AA":
		return codeAA
	case "AE":
		return codeAE
	case "AR":
		return codeAR
	}
	return codeOther
}

// ledger records, for every control id the load generator sends
// ("<prefix>-<conn>-<seq>"), its answer and how many times it was found in
// Kafka, in two bytes per message instead of a map of strings: 1M messages
// take about 2 MB. answer is called from the connection goroutines, each
// only for its own connection, so the per-connection slices need no lock;
// found is called from one goroutine after the load.
type ledger struct {
	prefix string
	codes  [][]byte  // [conn][seq] -> code
	seen   [][]uint8 // [conn][seq] -> times found, saturating at 255
	// foreign counts records read whose control id is not one of ours
	// (warm-up, earlier runs, or unparseable).
	foreign int
	// answered counts the answers recorded so far, for progress lines.
	answered atomic.Int64
}

func newLedger(prefix string, conns, perConn int) *ledger {
	l := &ledger{prefix: prefix, codes: make([][]byte, conns), seen: make([][]uint8, conns)}
	for c := range conns {
		l.codes[c] = make([]byte, 0, perConn)
	}
	return l
}

// parse splits a control id of this run into connection and sequence.
func (l *ledger) parse(id string) (conn, seq int, ok bool) {
	rest, ok := strings.CutPrefix(id, l.prefix+"-")
	if !ok {
		return 0, 0, false
	}
	cs, ss, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, 0, false
	}
	conn, err1 := strconv.Atoi(cs)
	seq, err2 := strconv.Atoi(ss)
	if err1 != nil || err2 != nil || conn < 0 || conn >= len(l.codes) || seq < 0 {
		return 0, 0, false
	}
	return conn, seq, true
}

// answer records the answer to control id id (loadgen's OnAck). Ids that
// are not of this run are ignored.
func (l *ledger) answer(id, code string) {
	conn, seq, ok := l.parse(id)
	if !ok {
		return
	}
	s := l.codes[conn]
	for len(s) <= seq {
		s = append(s, codeNone)
	}
	s[seq] = codeOf(code)
	l.codes[conn] = s
	l.answered.Add(1)
}

// found counts one record carrying control id id.
func (l *ledger) found(id string) {
	conn, seq, ok := l.parse(id)
	if !ok || seq >= len(l.codes[conn]) {
		l.foreign++
		return
	}
	if l.seen[conn] == nil {
		l.seen[conn] = make([]uint8, len(l.codes[conn]))
	}
	if n := l.seen[conn][seq]; n < 255 {
		l.seen[conn][seq] = n + 1
	}
}

// verdict is the invariant check over the ledger.
type verdict struct {
	Answers map[string]int `json:"answers"` // code -> messages
	// AAMissing counts messages answered AA with no record in Kafka: the
	// invariant says 0.
	AAMissing int `json:"aa_without_record"`
	// Duplicates counts records beyond the first for one control id.
	Duplicates int `json:"duplicates"`
	// StoredNotAA counts messages in Kafka whose answer was not AA (a
	// transport error or AR after the record was written): allowed.
	StoredNotAA int `json:"stored_without_aa"`
	// Foreign counts records read that are not of this run.
	Foreign int `json:"other_records"`
	// MissingSample names up to 10 control ids of AAMissing.
	MissingSample []string `json:"missing_sample,omitempty"`
}

func (l *ledger) verdict() verdict {
	v := verdict{Answers: map[string]int{}, Foreign: l.foreign}
	for conn, codes := range l.codes {
		for seq, code := range codes {
			n := 0
			if l.seen[conn] != nil {
				n = int(l.seen[conn][seq])
			}
			v.Answers[codeNames[code]]++
			if n > 1 {
				v.Duplicates += n - 1
			}
			switch {
			case code == codeAA && n == 0:
				v.AAMissing++
				if len(v.MissingSample) < 10 {
					v.MissingSample = append(v.MissingSample, l.prefix+"-"+strconv.Itoa(conn)+"-"+strconv.Itoa(seq))
				}
			case code != codeAA && n > 0:
				v.StoredNotAA++
			}
		}
	}
	return v
}
