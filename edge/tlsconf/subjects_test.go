package tlsconf

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/edge/tlsconf/tlstest"
)

// TestWholeSubjectEntryAdmitsExactlyTheIntendedCertificate is issue 10's
// case: "CN=lab,O=Hospital" split on its comma refused the intended client
// and admitted an O=Hospital-only certificate of the same CA. Three real
// certificates from one CA, real TLS handshakes.
func TestWholeSubjectEntryAdmitsExactlyTheIntendedCertificate(t *testing.T) {
	p := newPKI(t)
	certs := map[string][2]string{}
	for name, cert := range map[string]func() (string, string){
		"intended CN=lab,O=Hospital": func() (string, string) { return p.ca.Client(t, p.dir, "lab", tlstest.Organization("Hospital")) },
		"O=Hospital only":            func() (string, string) { return p.ca.Client(t, p.dir, "", tlstest.Organization("Hospital")) },
		"CN=lab only":                func() (string, string) { return p.ca.Client(t, t.TempDir(), "lab") },
	} {
		c, k := cert()
		certs[name] = [2]string{c, k}
	}
	for _, tt := range []struct {
		entries  []string
		admitted []string
	}{
		{[]string{"CN=lab,O=Hospital"}, []string{"intended CN=lab,O=Hospital"}},
		{[]string{"CN=lab, O=Hospital"}, []string{"intended CN=lab,O=Hospital"}},
		{[]string{"cn=lab,o=Hospital"}, []string{"intended CN=lab,O=Hospital"}},
		{[]string{"2.5.4.3=lab,2.5.4.10=Hospital"}, []string{"intended CN=lab,O=Hospital"}},
		{[]string{"O=Hospital,CN=lab"}, nil}, // RDN order matters
		{[]string{"CN=lab+O=Hospital"}, nil}, // one multi-valued RDN is another subject
		{[]string{"CN=lab,O=hospital"}, nil}, // values are compared exactly
		{[]string{"O=Hospital"}, []string{"O=Hospital only"}},
		{[]string{"CN=lab"}, []string{"CN=lab only", "intended CN=lab,O=Hospital"}}, // a CN entry is the common name alone
		{[]string{"CN=lab,O=Hospital", "CN=nobody"}, []string{"intended CN=lab,O=Hospital"}},
	} {
		t.Run(strings.Join(tt.entries, " | "), func(t *testing.T) {
			o := p.options()
			o.AllowedSubjects = tt.entries
			r, _ := newReloader(t, o)
			addr, _ := serveWrapped(t, r)
			var admitted []string
			for name, c := range certs {
				if _, err := dial(addr, p.client(t, c[0], c[1])); err == nil {
					admitted = append(admitted, name)
				} else if !strings.Contains(err.Error(), "bad certificate") {
					t.Errorf("%s refused with %v, want the bad certificate alert", name, err)
				}
			}
			slices.Sort(admitted)
			if !slices.Equal(admitted, tt.admitted) {
				t.Fatalf("admitted %q, want %q", admitted, tt.admitted)
			}
		})
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		name    string
		entry   string
		wantErr string // "" = valid
	}{
		{"a whole subject", "CN=lab,O=Hospital", ""},
		{"a whole subject with spaces after commas", "CN=lab, O=Hospital, C=DE", ""},
		{"an escaped comma in a value", `CN=Lab\, Inc.,O=Hospital`, ""},
		{"a hex escape in a value", `CN=M\C3\BCller,O=Hospital`, ""},
		{"a multi-valued RDN", "CN=lab+OU=Chemistry,O=Hospital", ""},
		{"a dotted OID", "2.5.4.3=lab", ""},
		{"a common name", "CN=lab", ""},
		{"a DNS name", "DNS:lab.hospital.test", ""},
		{"an e-mail address", "email:lab@hospital.test", ""},
		{"a bare name, the earlier syntax", "lab-engine", ""},
		{"an empty entry is refused", "  ", "empty"},
		{"a comma list of names is refused", "lab-engine, CN=ris", "unknown attribute type"},
		{"two bare names with a comma are refused", "lab,ris", "neither a distinguished name"},
		{"an unknown attribute type is refused", "XX=lab", `unknown attribute type "XX"`},
		{"an empty value is refused", "CN=,O=Hospital", "empty"},
		{"a trailing comma is refused", "CN=lab,", "ends with a separator"},
		{"an unescaped semicolon is refused", "CN=lab;O=Hospital", "must be escaped"},
		{"a bad escape is refused", `CN=l\xy`, "bad escape"},
		{"an escape that is not UTF-8 is refused", `CN=l\ab`, "not UTF-8"},
		{"an unescaped comma inside a value is refused", "CN=Lab, Inc.,O=Hospital", `unknown attribute type "Inc.,O"`},
		{"a lone backslash is refused", `CN=lab\`, "lone backslash"},
		{"a hex value is refused", "CN=#0403616263", "hex-encoded values"},
		{"a DNS name with a space is refused", "DNS:lab hospital", "not a DNS name"},
		{"an e-mail address without @ is refused", "email:lab", "not an e-mail address"},
		{"an unknown prefix is refused", "URI:spiffe://lab", "neither a distinguished name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSubject(tt.entry)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseSubject(%q): %v", tt.entry, err)
				}
				return
			}
			var se *SubjectSyntaxError
			if !errors.As(err, &se) || se.Entry != tt.entry || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseSubject(%q) = %v, want a *SubjectSyntaxError naming it, with %q", tt.entry, err, tt.wantErr)
			}
		})
	}
}

func TestSubjectEntriesMatchTheirKind(t *testing.T) {
	p := newPKI(t)
	cert := func(cn string, opts ...tlstest.Option) [2]string {
		c, k := p.ca.Client(t, t.TempDir(), cn, opts...)
		return [2]string{c, k}
	}
	dns := cert("x", tlstest.Hosts("engine.hospital.test"))
	mail := cert("y", tlstest.Emails("engine@hospital.test"))
	escaped := cert("Lab, Inc.", tlstest.Organization("Hospital"))
	for _, tt := range []struct {
		entry string
		cert  [2]string
		want  bool
	}{
		{"DNS:engine.hospital.test", dns, true},
		{"DNS:ENGINE.hospital.test", dns, true},
		{"DNS:engine.hospital.test", mail, false},
		{"CN=engine.hospital.test", dns, false},
		{"email:engine@hospital.test", mail, true},
		{"email:engine@hospital.test", dns, false},
		{"engine@hospital.test", mail, true},
		{`CN=Lab\, Inc.,O=Hospital`, escaped, true},
		{`CN=Lab\2C Inc.,O=Hospital`, escaped, true},
	} {
		o := p.options()
		o.AllowedSubjects = []string{tt.entry}
		r, _ := newReloader(t, o)
		addr, _ := serveWrapped(t, r)
		_, err := dial(addr, p.client(t, tt.cert[0], tt.cert[1]))
		if (err == nil) != tt.want {
			t.Errorf("entry %q, certificate %s: admitted %v, want %v (%v)", tt.entry, tlstest.ReadCert(t, tt.cert[0]).Subject, err == nil, tt.want, err)
		}
	}
}

func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{"CN=lab,O=Hospital", `CN=Lab\, Inc.+OU=x,O=H`, `CN=M\C3\BCller`, "DNS:a.b", "email:a@b",
		"lab", "2.5.4.3=x", "CN=#00", "CN=a,", "=x", `CN=\`, "CN= a ", `CN=\ a\ `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		s, err := ParseSubject(entry)
		if err != nil {
			var se *SubjectSyntaxError
			if !errors.As(err, &se) || se.Entry != entry {
				t.Fatalf("error %v does not name the entry", err)
			}
			return
		}
		if s.kind == 0 {
			t.Fatalf("%q parsed to no kind", entry)
		}
		for _, rdn := range s.dn {
			if len(rdn) == 0 {
				t.Fatalf("%q parsed to an empty RDN", entry)
			}
			for _, a := range rdn {
				if a.value == "" || a.oid == "" {
					t.Fatalf("%q parsed to an empty attribute %+v", entry, a)
				}
			}
		}
	})
}
