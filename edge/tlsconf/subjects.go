package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strconv"
)

// errNoClientCert words its message like crypto/tls's, which Classify reads.
var errNoClientCert = errors.New("tlsconf: client didn't provide a certificate")

// SubjectError is the handshake error for a client certificate that chains
// to the client CA but matches no entry of Options.AllowedSubjects. The
// server ends the handshake with a TLS alert (bad_certificate) and closes
// the connection; the client sees the alert as a "remote error" on its
// handshake or, with TLS 1.3, on its first read.
type SubjectError struct {
	Subject string // the certificate's subject in RFC 2253 form (cert.Subject.String())
}

func (e *SubjectError) Error() string {
	return "tlsconf: client certificate subject " + strconv.Quote(e.Subject) + " is not allowed"
}

// subjectSet is an allow-list of client certificate subjects.
type subjectSet map[string]struct{}

func newSubjectSet(entries []string) subjectSet {
	if len(entries) == 0 {
		return nil
	}
	s := make(subjectSet, len(entries))
	for _, e := range entries {
		s[e] = struct{}{}
	}
	return s
}

// allows reports whether cert's common name, one of its DNS or e-mail SANs,
// or its whole RFC 2253 subject equals an entry. Matching is exact and
// case-sensitive.
func (s subjectSet) allows(cert *x509.Certificate) bool {
	has := func(v string) bool { _, ok := s[v]; return ok }
	if cert.Subject.CommonName != "" && has(cert.Subject.CommonName) {
		return true
	}
	for _, n := range cert.DNSNames {
		if has(n) {
			return true
		}
	}
	for _, n := range cert.EmailAddresses {
		if has(n) {
			return true
		}
	}
	return has(cert.Subject.String())
}

// verifyConnection is the tls.Config.VerifyConnection of a listener with an
// allow-list. crypto/tls has verified the chain by then (and requires a
// certificate), so only the leaf's subject is checked. It runs on resumed
// sessions too.
func (s subjectSet) verifyConnection(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errNoClientCert // not reached: allow-lists come with RequireAndVerifyClientCert
	}
	leaf := cs.PeerCertificates[0]
	if !s.allows(leaf) {
		return &SubjectError{Subject: leaf.Subject.String()}
	}
	return nil
}
