package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// loadSubjects loads a gateway file whose MLLP connector has mutual TLS and
// the given YAML value for tls.client.allowed.subjects, and returns the
// connector's allow-list or the error of Load or Settings.
func loadSubjects(t *testing.T, value string) ([]string, error) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"cert.pem", "key.pem", "ca.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	doc := "connectors:\n  - name: lab\n    type: hl7-mllp\n    config:\n" +
		"      tls.cert.file: " + filepath.Join(dir, "cert.pem") + "\n" +
		"      tls.key.file: " + filepath.Join(dir, "key.pem") + "\n" +
		"      tls.client.ca.file: " + filepath.Join(dir, "ca.pem") + "\n" +
		"      tls.client.allowed.subjects:" + value + "\n"
	path := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		return nil, err
	}
	s, err := c.Connectors[0].Settings(c)
	return s.Edge.TLS.AllowedSubjects, err
}

func TestAllowedSubjectsSyntax(t *testing.T) {
	tests := []struct {
		name    string
		value   string // YAML after the key
		want    []string
		wantErr string
	}{
		{"a YAML list keeps a whole subject whole", "\n        - \"CN=lab,O=Hospital\"\n        - DNS:ris.hospital.test",
			[]string{"CN=lab,O=Hospital", "DNS:ris.hospital.test"}, ""},
		{"a flow list works too", ` ["CN=lab,O=Hospital", "email:lab@hospital.test", "CN=ris"]`,
			[]string{"CN=lab,O=Hospital", "email:lab@hospital.test", "CN=ris"}, ""},
		{"an escaped comma stays in its entry", ` ['CN=Lab\, Inc.,O=Hospital']`, []string{`CN=Lab\, Inc.,O=Hospital`}, ""},
		{"a string of ';'-ended entries", ` "CN=lab,O=Hospital;CN=ris;"`, []string{"CN=lab,O=Hospital", "CN=ris"}, ""},
		{"one whole subject ended by ';'", ` "CN=lab,O=Hospital;"`, []string{"CN=lab,O=Hospital"}, ""},
		{"a single name needs no separator", " lab-engine", []string{"lab-engine"}, ""},
		{"the comma string that split a subject is refused as ambiguous", ` "CN=lab,O=Hospital"`, nil,
			`config.tls.client.allowed.subjects: "CN=lab,O=Hospital" is ambiguous`},
		{"a comma list of names is refused as ambiguous", " lab-engine, ris", nil, "is ambiguous"},
		{"a malformed entry is named", ` ["CN=lab", "XX=lab,O=Hospital"]`, nil,
			`config.tls.client.allowed.subjects: subject "XX=lab,O=Hospital": not an RFC 4514 distinguished name: unknown attribute type "XX"`},
		{"a list entry holding ';' is refused", ` ["CN=lab;O=Hospital"]`, nil, `entry "CN=lab;O=Hospital" holds a ';'`},
		{"a list of lists is refused", ` [[a]]`, nil, "cannot unmarshal"},
		{"an empty list admits nobody rather than everybody", ` []`, nil, "no entry"},
		{"a lone separator admits nobody rather than everybody", ` ";"`, nil, "no entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadSubjects(t, tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("allowed subjects %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOnlyListKeysTakeAList(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gw.yaml")
	doc := "connectors:\n  - name: lab\n    type: hl7-mllp\n    config:\n      source.allow: [10.0.0.1]\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "cannot unmarshal") {
		t.Fatalf("a list for source.allow: err = %v, want a YAML type error", err)
	}
}
