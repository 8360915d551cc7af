package loadgen

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// msg builds a minimal message of type typ ("ADT^A01" is answered AA by
// the ack server, "ORU^R01" AE) with control id id and MSH-15 mode.
func msg(typ, id, mode string) []byte {
	return fmt.Appendf(nil, "MSH|^~\\&|SND|FAC|GW|GWF|20240101||%s|%s|P|2.5|||%s|\rPID|1\r", typ, id, mode)
}

func TestModeOf(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want AckMode
	}{
		{"an empty MSH-15 always gets an answer", "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5\r", AckAlways},
		{"AL always gets an answer", "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5|||AL|NE\r", AckAlways},
		{"NE never gets one", "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5|||NE|AL\r", AckNever},
		{"ER gets one on error", "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5|||ER\r", AckOnError},
		{"SU gets one on success", "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5|||SU\r", AckOnSuccess},
		{"another field separator is honoured", "MSH#^~\\&#A#B#C#D#1##ADT^A01#1#P#2.5###NE\r", AckNever},
		{"an unknown value is treated as AL", "MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5|||XX\r", AckAlways},
		{"a batch is always answered whatever its messages ask", "BHS|^~\\&\rMSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|2.5|||NE\rBTS|1\r", AckAlways},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ModeOf([]byte(tt.msg)); got != tt.want {
				t.Fatalf("ModeOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnswerOf(t *testing.T) {
	tests := []struct {
		name      string
		ans       string
		code, ref string
		batch     bool
	}{
		{"a message answer gives MSA-1 and MSA-2", "MSH|^~\\&|GW\rMSA|AE|ID7|bad\r", "AE", "ID7", false},
		{"a batch answer gives its worst code", "BHS|^~\\&\rMSH|^~\\&|GW\rMSA|AA|1\rMSH|^~\\&|GW\rMSA|AR|2\rBTS|2\r", "AR", "", true},
		{"a batch of acceptances gives AA", "FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|GW\rMSA|AA|1\rBTS|1\rFTS|1\r", "AA", "", true},
		{"a batch answer without MSA gives none", "BHS|^~\\&\rBTS|0\r", CodeNone, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, ref, batch := answerOf([]byte(tt.ans))
			if code != tt.code || ref != tt.ref || batch != tt.batch {
				t.Fatalf("answerOf = %q %q %v, want %q %q %v", code, ref, batch, tt.code, tt.ref, tt.batch)
			}
		})
	}
}

func TestRunWaitsOnlyForTheAnswersMSH15Promises(t *testing.T) {
	as := startAckServer(t)
	as.honour = true
	msgs := [][]byte{
		msg("ADT^A01", "1", "NE"), msg("ADT^A01", "2", "ER"), msg("ADT^A01", "3", ""),
		msg("ORU^R01", "4", "ER"), msg("ADT^A01", "5", "SU"), msg("ORU^R01", "6", "NE"),
		msg("ADT^A01", "7", "AL"), msg("ADT^A01", "8", "ER"),
	}
	var mu sync.Mutex
	codes := map[string]string{}
	rep, err := Run(testCtx(t), Options{
		Addr: as.addr, Messages: msgs, Connections: 2, Count: 2 * len(msgs), Timeout: 10 * time.Second,
		// Long enough for an AE to a trailing ER message on a busy machine.
		NoAnswerWait: 2 * time.Second, UniqueControlIDs: true, ControlIDPrefix: "M",
		OnAck: func(id, code string) {
			mu.Lock()
			defer mu.Unlock()
			codes[id] = code
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Per round of 8: NE ADT: silent accepted; ER ADT: silent accepted; "" ADT: AA;
	// ER ORU: AE; SU ADT: AA; NE ORU: silent (accepted: no answer comes);
	// AL ADT: AA; ER ADT: silent accepted.
	if rep.Sent != 16 || rep.Answered != 8 || rep.Silent != 8 || rep.Errors != 0 || rep.Accepted != 14 || rep.Codes["AA"] != 6 || rep.Codes["AE"] != 2 {
		t.Fatalf("report %v", rep)
	}
	if rep.Elapsed > 8*time.Second {
		t.Fatalf("run took %v: it waited for answers that never come", rep.Elapsed)
	}
	if len(codes) != 16 {
		t.Fatalf("OnAck saw %d ids, want 16", len(codes))
	}
	for id, code := range codes {
		if code == "" {
			t.Errorf("message %s reported unanswered", id)
		}
	}
}

func TestRunCountsAnUnansweredSUMessageAsNotAccepted(t *testing.T) {
	as := startAckServer(t)
	as.honour = true
	rep, err := Run(testCtx(t), Options{Addr: as.addr, Messages: [][]byte{msg("ORU^R01", "1", "SU"), msg("ADT^A01", "2", "")},
		Count: 2, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 1 || rep.NotAccepted() != 1 || rep.Silent != 1 || rep.Answered != 1 {
		t.Fatalf("report %v", rep)
	}
}

func TestSessionCorrectsAnERMessageWhoseErrorAnswerComesLate(t *testing.T) {
	as := startAckServer(t)
	as.honour = true
	as.delay = func(id string) time.Duration {
		if id == "late" {
			return 300 * time.Millisecond
		}
		return 0
	}
	ctx := testCtx(t)
	s, err := DialSession(ctx, as.addr, nil, 5*time.Second, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.Send(ctx, msg("ORU^R01", "late", "ER"), "late", AckOnError, 0)
	if err != nil || len(rs) != 0 {
		t.Fatalf("Send ER = %v, %v: want nothing known yet", rs, err)
	}
	rs, err = s.Flush(ctx)
	if err != nil || len(rs) != 1 || !rs[0].Accepted || !rs[0].Silent() {
		t.Fatalf("Flush = %+v, %v: want the ER message accepted on silence", rs, err)
	}
	rs, err = s.Send(ctx, msg("ADT^A01", "next", ""), "next", AckAlways, 1)
	if err != nil || len(rs) != 2 {
		t.Fatalf("Send AL = %+v, %v: want the late correction and the answer", rs, err)
	}
	if !rs[0].Late || rs[0].ControlID != "late" || rs[0].Code != "AE" || rs[0].Accepted {
		t.Fatalf("first result %+v, want a late AE for the ER message", rs[0])
	}
	if rs[1].Tag != 1 || rs[1].Code != "AA" || !rs[1].Accepted {
		t.Fatalf("second result %+v, want AA for the next message", rs[1])
	}
}

func TestSessionResolvesERMessagesByTheNextAnswer(t *testing.T) {
	as := startAckServer(t)
	as.honour = true
	ctx := testCtx(t)
	// A long NoAnswerWait: only the following answer can resolve them fast.
	s, err := DialSession(ctx, as.addr, nil, 5*time.Second, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	var all []Result
	for i, m := range [][]byte{msg("ADT^A01", "a", "ER"), msg("ORU^R01", "b", "ER"), msg("ADT^A01", "c", "ER"), msg("ADT^A01", "d", "AL")} {
		rs, err := s.Send(ctx, m, string(rune('a'+i)), ModeOf(m), i)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
	}
	var got []string
	for _, r := range all {
		got = append(got, fmt.Sprintf("%s:%s:%v", r.ControlID, r.Code, r.Accepted))
	}
	if want := "a::true b:AE:false c::true d:AA:true"; strings.Join(got, " ") != want {
		t.Fatalf("results %s, want %s", strings.Join(got, " "), want)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	if rs, err := s.Flush(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("Flush = %v, %v: nothing should be left", rs, err)
	}
}

func TestSessionFailsEveryMessageInFlightWhenTheServerCloses(t *testing.T) {
	as := startAckServer(t)
	as.honour = true
	as.drop = func(id string) bool { return id == "x" }
	ctx := testCtx(t)
	s, err := DialSession(ctx, as.addr, nil, 5*time.Second, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rs, err := s.Send(ctx, msg("ADT^A01", "w", "ER"), "w", AckOnError, 0); err != nil || len(rs) != 0 {
		t.Fatalf("Send = %v, %v", rs, err)
	}
	rs, err := s.Send(ctx, msg("ADT^A01", "x", ""), "x", AckAlways, 1)
	if err == nil || len(rs) != 2 || rs[0].Err == nil || rs[1].Err == nil {
		t.Fatalf("Send = %+v, %v: want both messages failed", rs, err)
	}
	if _, err := s.Send(ctx, msg("ADT^A01", "y", ""), "y", AckAlways, 2); err == nil {
		t.Fatal("Send on a broken session succeeded")
	}
}

func TestRunReportsProgress(t *testing.T) {
	as := startAckServer(t)
	as.delay = func(string) time.Duration { return 20 * time.Millisecond }
	var mu sync.Mutex
	var seen []Progress
	rep, err := Run(context.Background(), Options{Addr: as.addr, Messages: [][]byte{msg("ADT^A01", "1", "")}, Duration: 600 * time.Millisecond,
		ProgressEvery: 100 * time.Millisecond, Progress: func(p Progress) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, p)
		}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 {
		t.Fatalf("%d progress calls in %v, want at least 2", len(seen), rep.Elapsed)
	}
	last := seen[len(seen)-1]
	if last.Sent == 0 || last.Done > rep.Sent || last.Accepted != last.Done || !strings.Contains(last.String(), "accepted=") {
		t.Fatalf("last progress %+v (%s), report %v", last, last, rep)
	}
}
