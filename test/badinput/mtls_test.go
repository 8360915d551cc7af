package badinput

import (
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hl7gw/gateway/edge/tlsconf/tlstest"
	"github.com/hl7gw/gateway/ingest/mllp"
)

// TestMTLSSubjectAllowListAdmitsOnlyTheWholeSubject is issue 10's fourth
// case against a real `gateway serve`: with tls.client.allowed.subjects
// ["CN=lab,O=Hospital"] on an MLLP connector, three client certificates
// from the CA the connector trusts (the intended CN=lab,O=Hospital, one with
// O=Hospital alone and one with CN=lab alone) each send an ADT^A01 over
// MLLP/TLS. Exactly the intended one is answered; the other two are refused
// during the handshake and get no answer. The old comma split refused the
// intended client and admitted the O=Hospital one.
func TestMTLSSubjectAllowListAdmitsOnlyTheWholeSubject(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Hospital Interface CA")
	caFile := ca.WriteCert(t, dir)
	srvCert, srvKey := ca.Server(t, dir, "127.0.0.1", "localhost")
	clients := map[string][2]string{}
	for name, issue := range map[string]func() (string, string){
		"intended CN=lab,O=Hospital": func() (string, string) { return ca.Client(t, t.TempDir(), "lab", tlstest.Organization("Hospital")) },
		"O=Hospital only":            func() (string, string) { return ca.Client(t, t.TempDir(), "", tlstest.Organization("Hospital")) },
		"CN=lab only":                func() (string, string) { return ca.Client(t, t.TempDir(), "lab") },
	} {
		c, k := issue()
		clients[name] = [2]string{c, k}
	}
	cfg := fmt.Sprintf("connectors:\n"+
		"  - name: adt\n"+
		"    type: hl7-mllp\n"+
		"    config:\n"+
		"      tls.cert.file: %q\n"+
		"      tls.key.file: %q\n"+
		"      tls.client.ca.file: %q\n"+
		"      tls.client.allowed.subjects: [\"CN=lab,O=Hospital\"]\n"+
		"  - {name: fhir-rest, type: fhir-rest}\n"+
		"  - {name: grpc, type: grpc}\n", srvCert, srvKey, caFile)
	p, err := launchGateway(dir, launchOptions{config: cfg})
	t.Cleanup(func() {
		if !p.Stop() {
			t.Errorf("mTLS gateway did not stop cleanly on SIGTERM")
		}
	})
	if err != nil {
		t.Fatalf("start the mTLS gateway: %v\n%s", err, tail(p.output(), 4000))
	}

	var admitted []string
	n := 0
	for name, c := range clients {
		n++
		code, err := sendOverTLS(p.MLLPAddr, ca, tlstest.KeyPair(t, c[0], c[1]), n)
		switch {
		case err == nil && code == "AA":
			admitted = append(admitted, name)
		case err == nil:
			t.Errorf("%s: answered %s, want AA or no answer", name, code)
		default:
			t.Logf("%s: refused (%v)", name, err)
		}
	}
	slices.Sort(admitted)
	if want := []string{"intended CN=lab,O=Hospital"}; !slices.Equal(admitted, want) {
		t.Fatalf("admitted %q, want exactly %q", admitted, want)
	}
}

// sendOverTLS sends one ADT^A01 over MLLP/TLS with client certificate cert
// and returns the ACK's MSA-1, or the error that stopped the exchange.
func sendOverTLS(addr string, ca *tlstest.CA, cert tls.Certificate, id int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := mllp.Dial(ctx, addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return "", err
	}
	defer c.Close()
	msg := fmt.Sprintf("MSH|^~\\&|LAB|HOSP|GW|GW|20240101120000||ADT^A01|MTLS-%d|P|2.5\rEVN|A01|20240101120000\rPID|1||123^^^H||DOE^JANE\rPV1|1|I", id)
	ack, err := c.Send(ctx, []byte(msg))
	if err != nil {
		return "", err
	}
	return msaCode(ack), nil
}
