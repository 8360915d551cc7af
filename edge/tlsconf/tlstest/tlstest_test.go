package tlstest

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := NewCA(t, "test CA")
	serverCert, serverKey := ca.Server(t, dir, "127.0.0.1", "localhost")
	clientCert, clientKey := ca.Client(t, dir, "sender-1", Organization("Hospital"), Emails("a@b.test"))
	again, _ := ca.Client(t, dir, "sender-1")
	expired, _ := ca.Client(t, dir, "old", Expired())

	for _, f := range []string{ca.WriteCert(t, dir), serverKey, clientKey} {
		if _, err := os.Stat(f); err != nil || filepath.Dir(f) != dir {
			t.Errorf("%s: %v", f, err)
		}
	}
	if again == clientCert {
		t.Error("a second certificate for the same name overwrote the first")
	}
	KeyPair(t, serverCert, serverKey)
	KeyPair(t, clientCert, clientKey)

	server := ReadCert(t, serverCert)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		if _, err := server.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: host}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	client := ReadCert(t, clientCert)
	opts := x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := client.Verify(opts); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if got := client.Subject.String(); got != "CN=sender-1,O=Hospital" || client.EmailAddresses[0] != "a@b.test" {
		t.Errorf("client subject %q, e-mails %v", got, client.EmailAddresses)
	}
	if _, err := server.Verify(opts); err == nil {
		t.Error("a server certificate verified as a client certificate")
	}
	var invalid x509.CertificateInvalidError
	if _, err := ReadCert(t, expired).Verify(opts); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("expired certificate: %v", err)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: NewCA(t, "other").Pool(), KeyUsages: opts.KeyUsages}); err == nil {
		t.Error("a certificate verified against another CA")
	}
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	if c, _ := ca.Issue(t, dir, "x", NotAfter(at)); !ReadCert(t, c).NotAfter.Equal(at) {
		t.Errorf("NotAfter not applied")
	}
}
