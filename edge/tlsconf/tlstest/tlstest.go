// Package tlstest issues throw-away certificates for tests: a CA, server
// certificates for loopback hosts and client certificates with chosen
// subjects, written as PEM files into a directory (usually t.TempDir()).
//
// Keys are ECDSA P-256 and certificates are valid from an hour ago for a day
// unless an Option says otherwise. Every function fails the test (t.Fatal) on
// error, so callers need no error handling. A typical mutual-TLS setup:
//
//	dir := t.TempDir()
//	ca := tlstest.NewCA(t, "test CA")
//	caFile := ca.WriteCert(t, dir)
//	certFile, keyFile := ca.Server(t, dir, "127.0.0.1", "localhost")
//	clientCert, clientKey := ca.Client(t, dir, "sender-1")
//	client := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{tlstest.KeyPair(t, clientCert, clientKey)}}
//
// Files are named after the subject's common name and the serial number, so
// certificates issued into the same directory never overwrite each other.
// The package is safe for concurrent use.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CA is a self-signed certificate authority held in memory.
type CA struct {
	Cert *x509.Certificate // the CA certificate
	key  *ecdsa.PrivateKey
}

// NewCA creates a CA whose subject common name is cn.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	key := newKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(t),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"tlstest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("tlstest: create CA %q: %v", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("tlstest: parse CA %q: %v", cn, err)
	}
	return &CA{Cert: cert, key: key}
}

// WriteCert writes the CA certificate as PEM into dir and returns the file's
// path, for a ClientCAFile or a client's root CA file.
func (ca *CA) WriteCert(t testing.TB, dir string) (caFile string) {
	t.Helper()
	caFile = filepath.Join(dir, fileBase(ca.Cert)+"-ca.pem")
	writePEM(t, caFile, "CERTIFICATE", ca.Cert.Raw)
	return caFile
}

// Pool returns a new pool holding only the CA certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Server issues a server certificate (extended key usage serverAuth) for
// hosts, each an IP address or a DNS name; the first is also the common name.
func (ca *CA) Server(t testing.TB, dir string, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	cn := "server"
	if len(hosts) > 0 {
		cn = hosts[0]
	}
	return ca.issue(t, dir, cn, x509.ExtKeyUsageServerAuth, Hosts(hosts...))
}

// Client issues a client certificate (extended key usage clientAuth) whose
// subject common name is cn.
func (ca *CA) Client(t testing.TB, dir, cn string, opts ...Option) (certFile, keyFile string) {
	t.Helper()
	return ca.issue(t, dir, cn, x509.ExtKeyUsageClientAuth, opts...)
}

// Issue issues a certificate usable both as a server and as a client
// certificate, for cases Server and Client do not cover (an expired server
// certificate, a server certificate with an organisation, ...).
func (ca *CA) Issue(t testing.TB, dir, cn string, opts ...Option) (certFile, keyFile string) {
	t.Helper()
	return ca.issue(t, dir, cn, x509.ExtKeyUsageAny, opts...)
}

// Option changes a certificate issued by Server, Client or Issue.
type Option func(*x509.Certificate)

// Expired makes the certificate valid from two days ago until one day ago.
func Expired() Option {
	return func(c *x509.Certificate) {
		now := time.Now()
		c.NotBefore, c.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	}
}

// NotAfter sets the end of the certificate's validity (truncated to the
// second, as X.509 stores it).
func NotAfter(at time.Time) Option {
	return func(c *x509.Certificate) { c.NotAfter = at }
}

// Hosts adds subject alternative names: IP addresses as IP SANs, anything
// else as DNS SANs.
func Hosts(hosts ...string) Option {
	return func(c *x509.Certificate) {
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				c.IPAddresses = append(c.IPAddresses, ip)
			} else if h != "" {
				c.DNSNames = append(c.DNSNames, h)
			}
		}
	}
}

// Emails adds e-mail subject alternative names.
func Emails(addrs ...string) Option {
	return func(c *x509.Certificate) { c.EmailAddresses = append(c.EmailAddresses, addrs...) }
}

// Organization sets the subject's organisation (O=).
func Organization(org string) Option {
	return func(c *x509.Certificate) { c.Subject.Organization = []string{org} }
}

// ReadCert parses the first certificate of a PEM file, to compare serial
// numbers, subjects or expiry in assertions.
func ReadCert(t testing.TB, certFile string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("tlstest: %s holds no PEM certificate", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("tlstest: parse %s: %v", certFile, err)
	}
	return cert
}

// KeyPair loads a certificate and key written by this package, for a
// tls.Config's Certificates.
func KeyPair(t testing.TB, certFile, keyFile string) tls.Certificate {
	t.Helper()
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	return kp
}

func (ca *CA) issue(t testing.TB, dir, cn string, usage x509.ExtKeyUsage, opts ...Option) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, o := range opts {
		if o != nil {
			o(tmpl)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("tlstest: issue %q: %v", cn, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("tlstest: marshal key: %v", err)
	}
	base := filepath.Join(dir, fileBase(tmpl))
	certFile, keyFile = base+".pem", base+"-key.pem"
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("tlstest: generate key: %v", err)
	}
	return key
}

func newSerial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("tlstest: serial: %v", err)
	}
	return n.Add(n, big.NewInt(1)) // never zero
}

// fileBase is a file name safe form of the common name plus the serial.
func fileBase(c *x509.Certificate) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, c.Subject.CommonName)
	return fmt.Sprintf("%s-%016x", name, c.SerialNumber.Uint64())
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("tlstest: %v", err)
	}
}
