package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hl7gw/gateway/ingest/mllp"
	"github.com/hl7gw/gateway/internal/corpus"
)

// segments splits an HL7 message into segments of fields, independently of
// the code under test.
func segments(msg string) [][]string {
	var out [][]string
	for _, s := range strings.FieldsFunc(msg, func(r rune) bool { return r == '\r' || r == '\n' }) {
		out = append(out, strings.Split(s, s[3:4]))
	}
	return out
}

// msh10 returns the first MSH-10 of msg (index 9 after splitting).
func msh10(msg string) string {
	for _, f := range segments(msg) {
		if f[0] == "MSH" && len(f) > 9 {
			return f[9]
		}
	}
	return ""
}

// msh15 returns the first MSH-15 of msg.
func msh15(msg string) string {
	for _, f := range segments(msg) {
		if f[0] == "MSH" && len(f) > 14 {
			return f[14]
		}
	}
	return ""
}

// ackServer is a real mllp.Server answering an HL7 ACK: AE for ORU
// messages, AA otherwise; it records every message it receives.
type ackServer struct {
	addr string
	srv  *mllp.Server

	mu   sync.Mutex
	got  []string
	drop func(controlID string) bool // answer nil (close the connection) when true
	// delay, when set, holds the answer to a control id back this long.
	delay func(controlID string) time.Duration
	// honour makes the server answer as the gateway does under MSH-15:
	// NE nothing, ER only errors, SU only acceptances.
	honour bool
}

func startAckServer(t *testing.T) *ackServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	as := &ackServer{addr: ln.Addr().String()}
	as.srv = mllp.NewServer("loadgen-test", mllp.ServerConfig{Logger: slog.New(slog.DiscardHandler)}, mllp.HandlerFunc(as.handle), nil)
	done := make(chan error, 1)
	go func() { done <- as.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := as.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return as
}

func (as *ackServer) handle(_ context.Context, _ mllp.ConnInfo, payload []byte) []byte {
	msg := string(payload)
	id := msh10(msg)
	as.mu.Lock()
	as.got = append(as.got, msg)
	drop := as.drop != nil && as.drop(id)
	as.mu.Unlock()
	if drop {
		return nil
	}
	code := "AA"
	if strings.Contains(msg, "|ORU^R01|") {
		code = "AE"
	}
	if as.delay != nil {
		time.Sleep(as.delay(id))
	}
	if as.honour {
		switch msh15(msg) {
		case "NE":
			return []byte{}
		case "ER":
			if code == "AA" {
				return []byte{}
			}
		case "SU":
			if code != "AA" {
				return []byte{}
			}
		}
	}
	return fmt.Appendf(nil, "MSH|^~\\&|GW|HOSP|SND|FAC|20240101000000||ACK|A%s|P|2.5\rMSA|%s|%s\r", id, code, id)
}

func (as *ackServer) received() []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return append([]string(nil), as.got...)
}

func readMsgs(t *testing.T, names ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, n := range names {
		out = append(out, corpus.Read(t, corpus.HL7, "valid/"+n))
	}
	return out
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRunSendsDistinctControlIDsAndCountsCodes(t *testing.T) {
	as := startAckServer(t)
	msgs := readMsgs(t, "pyhl7-sample_hl7.hl7", "fhirconv-ADT-A01-02.hl7") // ORU -> AE, ADT -> AA
	const count = 300
	var mu sync.Mutex
	acks := map[string]string{}
	rep, err := Run(testCtx(t), Options{
		Addr: as.addr, Messages: msgs, Connections: 4, Count: count,
		UniqueControlIDs: true, ControlIDPrefix: "T",
		OnAck: func(id, code string) {
			mu.Lock()
			defer mu.Unlock()
			if _, dup := acks[id]; dup {
				t.Errorf("OnAck called twice for %s", id)
			}
			acks[id] = code
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != count || rep.Answered != count || rep.Errors != 0 {
		t.Fatalf("report %v", rep)
	}
	if rep.Codes["AA"] != count/2 || rep.Codes["AE"] != count/2 || len(rep.Codes) != 2 {
		t.Fatalf("codes %v, want AA=AE=%d", rep.Codes, count/2)
	}
	if !(0 < rep.P50 && rep.P50 <= rep.P99 && rep.P99 <= rep.Max) || rep.MsgsPerSec <= 0 {
		t.Fatalf("latencies/throughput %v", rep)
	}

	got := as.received()
	if len(got) != count {
		t.Fatalf("server received %d messages, want %d", len(got), count)
	}
	idPattern := regexp.MustCompile(`^T-[0-3]-\d+$`)
	seen := map[string]bool{}
	originals := map[string]string{msh10(string(msgs[0])): string(msgs[0]), msh10(string(msgs[1])): string(msgs[1])}
	for _, m := range got {
		id := msh10(m)
		if !idPattern.MatchString(id) || seen[id] {
			t.Fatalf("control id %q duplicated or malformed", id)
		}
		seen[id] = true
		if want := map[bool]string{true: "AE", false: "AA"}[strings.Contains(m, "|ORU^R01|")]; acks[id] != want {
			t.Errorf("OnAck(%s) code %q, want %q", id, acks[id], want)
		}
		// Everything but MSH-10 is byte-identical to one of the originals.
		matched := false
		for orig, o := range originals {
			if strings.Replace(m, "|"+id+"|", "|"+orig+"|", 1) == o {
				matched = true
			}
		}
		if !matched {
			t.Fatalf("message with id %s differs from its original beyond MSH-10", id)
		}
	}
	if len(acks) != count {
		t.Fatalf("OnAck saw %d ids, want %d", len(acks), count)
	}
}

func TestRunGivesEachMessageOfABatchItsOwnID(t *testing.T) {
	as := startAckServer(t)
	rep, err := Run(testCtx(t), Options{Addr: as.addr, Messages: readMsgs(t, "pyhl7-sample_file1.hl7"), Count: 2, UniqueControlIDs: true, ControlIDPrefix: "B"})
	if err != nil || rep.Answered != 2 {
		t.Fatalf("Run = %v, %v", rep, err)
	}
	var ids []string
	for _, m := range as.received() {
		for _, f := range segments(m) {
			if f[0] == "MSH" {
				ids = append(ids, f[9])
			}
		}
	}
	if want := "B-0-0 B-0-0.1 B-0-0.2 B-0-1 B-0-1.1 B-0-1.2"; strings.Join(ids, " ") != want {
		t.Fatalf("batch control ids %v, want %s", ids, want)
	}
}

func TestRunHonoursDuration(t *testing.T) {
	as := startAckServer(t)
	const d = 300 * time.Millisecond
	rep, err := Run(testCtx(t), Options{Addr: as.addr, Messages: readMsgs(t, "fhirconv-ADT-A01-02.hl7"), Connections: 2, Duration: d})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Elapsed < d || rep.Sent == 0 || rep.Sent != rep.Answered || rep.Codes["AA"] != rep.Sent {
		t.Fatalf("report %v for a %v run", rep, d)
	}
	if n := len(as.received()); n != rep.Sent {
		t.Fatalf("server received %d, report says %d sent", n, rep.Sent)
	}
}

func TestRunHonoursRate(t *testing.T) {
	as := startAckServer(t)
	// 12 messages at 40/s: the last is due 11/40 s = 275 ms after the start,
	// however fast the server answers. (Only this lower bound is asserted.)
	rep, err := Run(testCtx(t), Options{Addr: as.addr, Messages: readMsgs(t, "fhirconv-ADT-A01-02.hl7"), Connections: 3, Count: 12, Rate: 40})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Answered != 12 || rep.Elapsed < 275*time.Millisecond {
		t.Fatalf("report %v, want 12 answers in at least 275ms", rep)
	}
	if rep.MsgsPerSec > 12/0.275 {
		t.Fatalf("%.1f msgs/s above the rate", rep.MsgsPerSec)
	}
}

func TestRunCountsUnansweredMessagesAndReconnects(t *testing.T) {
	as := startAckServer(t)
	as.drop = func(id string) bool { return id == "E-0-3" || id == "E-0-4" }
	var mu sync.Mutex
	var lost []string
	rep, err := Run(testCtx(t), Options{
		Addr: as.addr, Messages: readMsgs(t, "fhirconv-ADT-A01-02.hl7"), Count: 10,
		UniqueControlIDs: true, ControlIDPrefix: "E",
		OnAck: func(id, code string) {
			if code == "" {
				mu.Lock()
				lost = append(lost, id)
				mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 10 || rep.Answered != 8 || rep.Errors != 2 || rep.Codes["AA"] != 8 {
		t.Fatalf("report %v", rep)
	}
	if strings.Join(lost, ",") != "E-0-3,E-0-4" {
		t.Fatalf("unanswered ids %v", lost)
	}
}

func TestRunFailsFastWhenNothingListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Run(testCtx(t), Options{Addr: addr, Messages: [][]byte{[]byte("MSH|^~\\&|||||||ADT^A01|1|P|2.5")}, Count: 1}); err == nil {
		t.Fatal("Run against a closed port succeeded")
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	msg := [][]byte{[]byte("MSH|^~\\&|||||||ADT^A01|1|P|2.5")}
	tests := []struct {
		name string
		o    Options
	}{
		{name: "no address is refused", o: Options{Messages: msg, Count: 1}},
		{name: "no messages are refused", o: Options{Addr: "127.0.0.1:1", Count: 1}},
		{name: "neither count nor duration is refused", o: Options{Addr: "127.0.0.1:1", Messages: msg}},
		{name: "a negative rate is refused", o: Options{Addr: "127.0.0.1:1", Messages: msg, Count: 1, Rate: -1}},
		{name: "unique ids clashing with the message's delimiters are refused", o: Options{Addr: "127.0.0.1:1", Messages: msg, Count: 1, UniqueControlIDs: true, ControlIDPrefix: "a|b"}},
		{name: "unique ids for a message without MSH-10 are refused", o: Options{Addr: "127.0.0.1:1", Messages: [][]byte{[]byte("PID|1")}, Count: 1, UniqueControlIDs: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Run(context.Background(), tt.o); err == nil || errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v, want an options error", err)
			}
		})
	}
}

func TestReportString(t *testing.T) {
	r := Report{Sent: 4, Answered: 2, Silent: 1, Errors: 1, Accepted: 2, Codes: map[string]int{"AE": 1, "AA": 1}, Elapsed: 2 * time.Second, MsgsPerSec: 1,
		P50: 1500 * time.Microsecond, P99: 3 * time.Millisecond, Max: 4 * time.Millisecond}
	want := "sent=4 accepted=2 not_accepted=2 answered=2 silent=1 errors=1 in 2s: 1.0 msgs/s, latency p50=1.5ms p99=3ms max=4ms, codes AA=1 AE=1"
	if got := r.String(); got != want {
		t.Fatalf("String() =\n%s, want\n%s", got, want)
	}
}

// BenchmarkRun measures the generator against a real MLLP server answering
// ACKs, with two connections and unique control ids.
func BenchmarkRun(b *testing.B) {
	msg := corpus.Read(b, corpus.HL7, "valid/fhirconv-ADT-A01-02.hl7")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	as := &ackServer{}
	srv := mllp.NewServer("bench", mllp.ServerConfig{Logger: slog.New(slog.DiscardHandler)}, mllp.HandlerFunc(func(ctx context.Context, ci mllp.ConnInfo, p []byte) []byte {
		ack := as.handle(ctx, ci, p)
		as.mu.Lock()
		as.got = as.got[:0]
		as.mu.Unlock()
		return ack
	}), nil)
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	b.ResetTimer()
	rep, err := Run(context.Background(), Options{Addr: ln.Addr().String(), Messages: [][]byte{msg}, Connections: 2, Count: b.N, UniqueControlIDs: true})
	if err != nil || rep.Answered != b.N {
		b.Fatalf("Run = %v, %v", rep, err)
	}
	b.ReportMetric(rep.MsgsPerSec, "msgs/s")
	b.ReportMetric(float64(rep.P99.Microseconds()), "p99-µs")
}
