package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
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

// SubjectSyntaxError is a malformed allow-list entry; it names the entry.
type SubjectSyntaxError struct {
	Entry  string
	Reason string
}

func (e *SubjectSyntaxError) Error() string {
	return "subject " + strconv.Quote(e.Entry) + ": " + e.Reason
}

// subjectKind is what an allow-list entry matches.
type subjectKind int

const (
	matchDN    subjectKind = iota + 1 // the whole subject, RDN by RDN
	matchCN                           // the subject's common name
	matchDNS                          // a DNS SAN, ASCII case-insensitively
	matchEmail                        // an e-mail SAN
	matchName                         // legacy bare name: CN, DNS SAN or e-mail SAN
)

// Subject is one parsed entry of an allow-list (ParseSubject).
type Subject struct {
	kind  subjectKind
	value string   // CN, DNS name, e-mail address or bare name
	dn    [][]atav // matchDN: the RDNs in certificate (ASN.1) order, each sorted
}

// atav is one attribute type and value of an RDN.
type atav struct {
	oid   string // dotted
	value string
}

// ParseSubject reads one allow-list entry. The forms, all matched exactly:
//
//   - "CN=lab": a certificate whose subject common name is lab, whatever
//     else its subject holds;
//   - "DNS:lab.example" or "email:lab@example": a DNS (ASCII
//     case-insensitively) or e-mail subject alternative name;
//   - any other RFC 4514 distinguished name ("CN=lab,O=Hospital"): the
//     whole subject, compared as parsed RDN sequences (same RDNs in the same
//     order, each the same set of attribute types and values; values
//     compared byte for byte after unescaping). Attribute types are the
//     RFC 4514 names (CN, L, ST, O, OU, C, STREET, DC, UID), SERIALNUMBER,
//     emailAddress, or dotted OIDs; spaces after ',' and '+' are ignored;
//     '#' hex values are refused;
//   - a bare name without '=' or ':' ("lab"), the earlier syntax: the
//     common name, a DNS SAN or an e-mail SAN.
//
// Anything else is a *SubjectSyntaxError naming the entry.
func ParseSubject(entry string) (Subject, error) {
	s := strings.TrimSpace(entry)
	bad := func(format string, args ...any) (Subject, error) {
		return Subject{}, &SubjectSyntaxError{Entry: entry, Reason: fmt.Sprintf(format, args...)}
	}
	if s == "" {
		return bad("empty")
	}
	if v, ok := cutPrefixFold(s, "DNS:"); ok {
		if v == "" || strings.ContainsAny(v, " ,;=") {
			return bad("not a DNS name")
		}
		return Subject{kind: matchDNS, value: v}, nil
	}
	if v, ok := cutPrefixFold(s, "email:"); ok {
		if v == "" || !strings.Contains(v, "@") || strings.ContainsAny(v, " ,;") {
			return bad("not an e-mail address")
		}
		return Subject{kind: matchEmail, value: v}, nil
	}
	if !strings.Contains(s, "=") {
		if strings.ContainsAny(s, ":,;+\\\"<>#") {
			return bad("neither a distinguished name (CN=...,O=...) nor CN=, DNS: or email: followed by a name")
		}
		return Subject{kind: matchName, value: s}, nil
	}
	rdns, err := parseDN(s)
	if err != nil {
		return bad("not an RFC 4514 distinguished name: %v", err)
	}
	if len(rdns) == 1 && len(rdns[0]) == 1 && rdns[0][0].oid == oidCN {
		return Subject{kind: matchCN, value: rdns[0][0].value}, nil
	}
	slices.Reverse(rdns) // RFC 4514 writes the last RDN first
	return Subject{kind: matchDN, dn: rdns}, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// matches reports whether cert satisfies the entry.
func (e Subject) matches(cert *x509.Certificate) bool {
	switch e.kind {
	case matchCN:
		return cert.Subject.CommonName == e.value
	case matchDNS:
		return slices.ContainsFunc(cert.DNSNames, func(n string) bool { return strings.EqualFold(n, e.value) })
	case matchEmail:
		return slices.Contains(cert.EmailAddresses, e.value)
	case matchName:
		return cert.Subject.CommonName == e.value || slices.Contains(cert.DNSNames, e.value) || slices.Contains(cert.EmailAddresses, e.value)
	case matchDN:
		got, ok := certRDNs(cert)
		return ok && slices.EqualFunc(got, e.dn, func(a, b []atav) bool { return slices.Equal(a, b) })
	}
	return false
}

// certRDNs is cert's subject as sorted RDNs in ASN.1 order; ok is false
// when a value is not a string (such a subject matches no DN entry).
func certRDNs(cert *x509.Certificate) ([][]atav, bool) {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(cert.RawSubject, &seq); err != nil || len(rest) > 0 {
		return nil, false
	}
	out := make([][]atav, 0, len(seq))
	for _, set := range seq {
		rdn := make([]atav, 0, len(set))
		for _, tv := range set {
			v, ok := tv.Value.(string)
			if !ok {
				return nil, false
			}
			rdn = append(rdn, atav{oid: tv.Type.String(), value: v})
		}
		sortRDN(rdn)
		out = append(out, rdn)
	}
	return out, true
}

func sortRDN(rdn []atav) {
	slices.SortFunc(rdn, func(a, b atav) int {
		if c := strings.Compare(a.oid, b.oid); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
}

// subjectSet is an allow-list of client certificate subjects; nil allows
// every verified client.
type subjectSet []Subject

// newSubjectSet parses entries, which Options.Validate has checked. Should
// one not parse all the same, the set admits nobody: an allow-list never
// opens up.
func newSubjectSet(entries []string) subjectSet {
	var s subjectSet
	for _, e := range entries {
		sub, err := ParseSubject(e)
		if err != nil {
			return subjectSet{{}} // the zero Subject matches no certificate
		}
		s = append(s, sub)
	}
	return s
}

// allows reports whether cert matches an entry.
func (s subjectSet) allows(cert *x509.Certificate) bool {
	return slices.ContainsFunc(s, func(e Subject) bool { return e.matches(cert) })
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

// RFC 4514 attribute type names, and emailAddress (PKCS #9).
var attrTypes = map[string]string{
	"CN": oidCN, "L": "2.5.4.7", "ST": "2.5.4.8", "O": "2.5.4.10", "OU": "2.5.4.11", "C": "2.5.4.6",
	"STREET": "2.5.4.9", "DC": "0.9.2342.19200300.100.1.25", "UID": "0.9.2342.19200300.100.1.1",
	"SERIALNUMBER": "2.5.4.5", "EMAILADDRESS": "1.2.840.113549.1.9.1",
}

const oidCN = "2.5.4.3"

// parseDN parses an RFC 4514 distinguished name into RDNs in string order
// (the last RDN of the certificate first), each RDN sorted.
func parseDN(s string) ([][]atav, error) {
	var out [][]atav
	var rdn []atav
	i := 0
	for {
		for i < len(s) && s[i] == ' ' {
			i++ // leniency: "CN=a, O=b"
		}
		j := strings.IndexByte(s[i:], '=')
		if j < 0 {
			return nil, fmt.Errorf("no '=' after %q", s[:i])
		}
		oid, err := attrType(s[i : i+j])
		if err != nil {
			return nil, err
		}
		i += j + 1
		v, n, err := attrValue(s[i:])
		if err != nil {
			return nil, fmt.Errorf("value of %s: %w", s[i-j-1:i-1], err)
		}
		if err := checkUTF8(v); err != nil {
			return nil, fmt.Errorf("value of %s: %w", s[i-j-1:i-1], err)
		}
		i += n
		rdn = append(rdn, atav{oid: oid, value: v})
		if i == len(s) || s[i] == ',' {
			sortRDN(rdn)
			out = append(out, rdn)
			rdn = nil
		}
		if i == len(s) {
			return out, nil
		}
		i++ // ',' or '+'
		if i == len(s) {
			return nil, errors.New("ends with a separator")
		}
	}
}

// attrType resolves a descr (case-insensitively) or a dotted OID.
func attrType(t string) (string, error) {
	if oid, ok := attrTypes[strings.ToUpper(t)]; ok {
		return oid, nil
	}
	parts := strings.Split(t, ".")
	if len(parts) < 2 {
		return "", fmt.Errorf("unknown attribute type %q", t)
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" || (len(p) > 1 && p[0] == '0') {
			return "", fmt.Errorf("unknown attribute type %q", t)
		}
	}
	return t, nil
}

// attrValue reads an RFC 4514 string value up to an unescaped ',' or '+'
// (or the end), returning the unescaped value and the bytes consumed.
// Unescaped trailing spaces are dropped.
func attrValue(s string) (string, int, error) {
	if strings.HasPrefix(s, "#") {
		return "", 0, errors.New("hex-encoded values are not supported: write the value as a string")
	}
	var b strings.Builder
	kept := 0 // length of b up to the last escaped or non-space byte
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ',' || c == '+':
			if kept == 0 {
				return "", 0, errors.New("empty")
			}
			return b.String()[:kept], i, nil
		case c == '\\':
			if i+1 >= len(s) {
				return "", 0, errors.New("ends with a lone backslash")
			}
			if strings.IndexByte(` "#+,;<=>\`, s[i+1]) >= 0 {
				b.WriteByte(s[i+1])
				i++
			} else if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				h, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
				b.WriteByte(byte(h))
				i += 2
			} else {
				return "", 0, fmt.Errorf("bad escape at byte %d", i)
			}
			kept = b.Len()
		case c == '"' || c == ';' || c == '<' || c == '>' || c == 0:
			return "", 0, fmt.Errorf("%q must be escaped", c)
		case c == ' ':
			if b.Len() == 0 {
				return "", 0, errors.New("a leading space must be escaped")
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
			kept = b.Len()
		}
	}
	if kept == 0 {
		return "", 0, errors.New("empty")
	}
	return b.String()[:kept], i, nil
}

// checkUTF8 refuses a value that is not UTF-8 once unescaped: certificate
// strings are, so it could never match.
func checkUTF8(v string) error {
	if !utf8.ValidString(v) {
		return errors.New("not UTF-8 once unescaped")
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
