package doctor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
)

var update = flag.Bool("update", false, "rewrite golden files")

func fast() Options { return Options{StepTimeout: 3 * time.Second} }

func verdicts(r Report) map[string]Verdict {
	m := map[string]Verdict{}
	for _, s := range r.Steps {
		m[s.Name] = s.Verdict
	}
	return m
}

func mustStep(t *testing.T, r Report, name string, want Verdict) Step {
	t.Helper()
	s, ok := r.Step(name)
	if !ok {
		t.Fatalf("no step %q in\n%s", name, r.Table())
	}
	if s.Verdict != want {
		t.Fatalf("step %q = %s, want %s\n%s", name, s.Verdict, want, r.Table())
	}
	return s
}

func newFake(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestRunAgainstKfake(t *testing.T) {
	c := newFake(t, kfake.NumBrokers(1), kfake.SeedTopics(3, "hl7.adt.a01"))
	k := config.Kafka{Brokers: c.ListenAddrs()}
	rep := Run(context.Background(), k, []string{"hl7.adt.a01", "hl7.oru.r01"}, fast())

	addr := c.ListenAddrs()[0]
	mustStep(t, rep, "dns 127.0.0.1", OK)
	mustStep(t, rep, "tcp "+addr, OK)
	mustStep(t, rep, "sasl", Skip)
	md := mustStep(t, rep, "metadata", Warn)
	if !strings.Contains(md.Detail, "1 brokers") {
		t.Errorf("metadata detail %q does not count the brokers", md.Detail)
	}
	weak := mustStep(t, rep, "topic hl7.adt.a01", Warn)
	if !strings.Contains(weak.Detail, "acks=all cannot protect data") || !strings.Contains(weak.Detail, "3 partitions") {
		t.Errorf("RF 1 topic detail %q", weak.Detail)
	}
	missing := mustStep(t, rep, "topic hl7.oru.r01", Fail)
	if !strings.Contains(missing.Hint, "kafka-topics.sh --create --topic hl7.oru.r01") {
		t.Errorf("missing topic hint %q", missing.Hint)
	}
	mustStep(t, rep, "produce hl7.oru.r01", Skip)
	if _, ok := rep.Step("produce hl7.adt.a01"); !ok {
		t.Error("no produce step for an existing topic")
	}
	if !rep.Failed() {
		t.Error("a missing topic must fail the report")
	}
}

func TestRunReportsUnderMinISRAsFailure(t *testing.T) {
	// kfake replicates nothing, so a topic asking for min.insync.replicas 2
	// has an ISR of 1 below it: the state in which acks=all writes fail.
	c := newFake(t, kfake.NumBrokers(1))
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	two := "2"
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, map[string]*string{"min.insync.replicas": &two}, "hl7.ack"); err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), config.Kafka{Brokers: c.ListenAddrs()}, []string{"hl7.ack"}, fast())
	s := mustStep(t, rep, "topic hl7.ack", Fail)
	if !strings.Contains(s.Detail, "NOT_ENOUGH_REPLICAS") {
		t.Errorf("detail %q does not name NOT_ENOUGH_REPLICAS", s.Detail)
	}
}

func TestRunNetworkFailures(t *testing.T) {
	closed := closedPort(t)
	tests := []struct {
		name      string
		brokers   []string
		step      string
		hintWords string
	}{
		{"an unresolvable host fails the DNS step", []string{"nonexistent.invalid:9092"}, "dns nonexistent.invalid", "host name"},
		{"a closed loopback port fails the TCP step", []string{closed}, "tcp " + closed, "nothing listens"},
		{"a seed without a port uses 9092", []string{"nonexistent.invalid"}, "dns nonexistent.invalid", "DNS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Run(context.Background(), config.Kafka{Brokers: tt.brokers}, []string{"hl7.adt.a01"}, fast())
			s := mustStep(t, rep, tt.step, Fail)
			if !strings.Contains(s.Hint, tt.hintWords) {
				t.Errorf("hint %q lacks %q", s.Hint, tt.hintWords)
			}
			mustStep(t, rep, "metadata", Skip)
			mustStep(t, rep, "topic hl7.adt.a01", Skip)
			if !rep.Failed() {
				t.Error("report not failed")
			}
		})
	}
}

func TestRunWithoutBrokersFailsWithHint(t *testing.T) {
	rep := Run(context.Background(), config.Kafka{}, nil, fast())
	s := mustStep(t, rep, "config", Fail)
	if !strings.Contains(s.Hint, "kafka.brokers") {
		t.Errorf("hint %q", s.Hint)
	}
}

func TestRunTLSHandshake(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	soon := tlsListener(t, dir, "soon", now.Add(5*24*time.Hour))
	long := tlsListener(t, dir, "long", now.Add(400*24*time.Hour))
	plain := newFake(t, kfake.NumBrokers(1)).ListenAddrs()[0]

	tests := []struct {
		name   string
		addr   string
		ca     string
		want   Verdict
		detail string
		hint   string
	}{
		{"a certificate expiring in 5 days warns", soon, filepath.Join(dir, "soon-ca.pem"), Warn, "expires in", "renew"},
		{"a valid certificate reports version and chain", long, filepath.Join(dir, "long-ca.pem"), OK, "TLS 1.3", ""},
		{"an untrusted CA fails naming ca_file", long, filepath.Join(dir, "soon-ca.pem"), Fail, "handshake failed", "ca_file"},
		{"a silent plaintext port fails suggesting it expects plaintext", plain, filepath.Join(dir, "long-ca.pem"), Fail, "handshake failed", "may expect plaintext"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := config.Kafka{Brokers: []string{tt.addr}, TLS: config.TLS{Enabled: true, CAFile: tt.ca}}
			rep := Run(context.Background(), k, nil, Options{StepTimeout: time.Second})
			s := mustStep(t, rep, "tls "+tt.addr, tt.want)
			if !strings.Contains(s.Detail, tt.detail) || !strings.Contains(s.Hint, tt.hint) {
				t.Errorf("detail %q hint %q", s.Detail, s.Hint)
			}
		})
	}
}

func TestReportRendering(t *testing.T) {
	rep := Report{Steps: []Step{
		{Name: "dns broker-1.example", Verdict: OK, Detail: "resolves to 10.0.0.1"},
		{Name: "tcp broker-1.example:9092", Verdict: Fail, Detail: "cannot connect: connection refused", Hint: "nothing listens on this port"},
		{Name: "metadata", Verdict: Skip, Detail: "no seed broker reachable"},
	}}
	golden(t, "report.table", []byte(rep.Table()))
	golden(t, "report.json", rep.JSON())
	var back Report
	if err := json.Unmarshal(rep.JSON(), &back); err != nil || len(back.Steps) != 3 || back.Steps[1].Verdict != Fail {
		t.Fatalf("JSON round trip: %v %+v", err, back)
	}
	if !rep.Failed() {
		t.Fatal("Failed() = false with a failed step")
	}
	rep.Steps[1].Verdict = Warn
	if rep.Failed() {
		t.Fatal("Failed() = true without a failed step")
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// tlsListener serves TLS handshakes on loopback with a certificate for
// 127.0.0.1 signed by a fresh CA written to dir/<name>-ca.pem.
func tlsListener(t *testing.T, dir, name string, notAfter time.Time) string {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter.Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pemCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(filepath.Join(dir, name+"-ca.pem"), pemCA, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
				var b [1]byte
				_, _ = c.Read(b[:])
			}()
		}
	}()
	return l.Addr().String()
}
