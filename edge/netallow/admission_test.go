package netallow

import (
	"bytes"
	"log/slog"
	"net"
	"testing"
)

func TestAdmissionDecidesInOrderAndReportsEveryRefusal(t *testing.T) {
	allow, err := Parse([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	src := func(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }
	var reported []Reason
	a := NewAdmission(AdmissionOptions{Allow: allow, MaxConnsPerSource: 1, MaxConns: 2,
		OnReject: func(_ net.Addr, r Reason) { reported = append(reported, r) }})
	steps := []struct {
		name string
		from net.Addr
		want Reason // "" admitted
	}{
		{"a source outside the list is refused first", src("192.0.2.1", 1), RejectNotAllowed},
		{"a listed source is admitted", src("10.0.0.1", 1), ""},
		{"its second connection passes its limit", src("10.0.0.1", 2), RejectPerSourceLimit},
		{"another source takes the listener's last slot", src("10.0.0.2", 1), ""},
		{"a third source finds the listener full", src("10.0.0.3", 1), RejectMaxConns},
	}
	var releases []func()
	for _, s := range steps {
		n := len(reported)
		release, ok := a.Admit(s.from)
		if ok != (s.want == "") {
			t.Fatalf("%s: admitted %v", s.name, ok)
		}
		if ok {
			releases = append(releases, release)
			continue
		}
		if len(reported) != n+1 || reported[n] != s.want {
			t.Fatalf("%s: reported %v, want %s", s.name, reported[n:], s.want)
		}
	}
	if a.Open() != 2 || a.Sources() != 2 {
		t.Fatalf("open %d, sources %d; want 2 and 2", a.Open(), a.Sources())
	}
	releases[0]()
	releases[0]() // idempotent: frees one slot, once
	if a.Open() != 1 || a.Sources() != 1 {
		t.Fatalf("after a release: open %d, sources %d; want 1 and 1", a.Open(), a.Sources())
	}
	if _, ok := a.Admit(src("10.0.0.3", 2)); !ok {
		t.Fatal("the freed slot was not given to the next source")
	}
	a.Reject(src("10.0.0.4", 1), RejectTLSHandshake)
	if last := reported[len(reported)-1]; last != RejectTLSHandshake {
		t.Fatalf("Reject reported %s, want tls_handshake", last)
	}
}

func TestAdmissionLogsItsRefusalsSampledAndTheServersNot(t *testing.T) {
	var buf bytes.Buffer
	a := NewAdmission(AdmissionOptions{MaxConnsPerSource: 1, MaxConns: 100, Log: slog.New(slog.NewJSONHandler(&buf, nil)),
		LogMessage: "mllp connection rejected"})
	from := &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 1}
	if _, ok := a.Admit(from); !ok {
		t.Fatal("first connection refused")
	}
	for range 50 {
		if _, ok := a.Admit(from); ok {
			t.Fatal("a second connection of the source admitted")
		}
	}
	a.Reject(from, RejectShutdown)
	got := lines(t, &buf)
	if len(got) != RefusalLogFirst {
		t.Fatalf("%d lines for 50 refusals of one source, want %d", len(got), RefusalLogFirst)
	}
	l := got[0]
	if l["msg"] != "mllp connection rejected" || l["reason"] != "per_source_limit" || l["remote"] != "10.0.0.1:1" ||
		l["max_conns"] != float64(100) || l["max_conns_per_source"] != float64(1) {
		t.Fatalf("line %v, want the message, reason, remote and both limits", l)
	}
}

func TestANilAdmissionAdmitsEverything(t *testing.T) {
	var a *Admission
	release, ok := a.Admit(&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1)})
	if !ok {
		t.Fatal("refused")
	}
	release()
	a.Reject(nil, RejectShutdown)
	if a.Open() != 0 || a.Sources() != 0 {
		t.Fatal("a nil Admission counts")
	}
}
