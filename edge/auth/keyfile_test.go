package auth

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestAPIKeyFileIsParsedAndItsErrorsNameTheLineNotTheHash(t *testing.T) {
	hashA, hashB := HashKey("key-a-0123456789"), HashKey("key-b-0123456789")
	hexA := strings.TrimPrefix(hashA, hashPrefix)
	tests := []struct {
		name string
		file string
		want []APIKey
		err  string
	}{
		{"keys with scopes, comments and blank lines are read",
			"# ehr system\nehr " + hashA + " fhir:write,hl7:write\n\n  lab " + hashB + " hl7:write  \n",
			[]APIKey{{"ehr", hashA, []string{"fhir:write", "hl7:write"}}, {"lab", hashB, []string{"hl7:write"}}}, ""},
		{"empty scopes in the list are dropped", "ehr " + hashA + " fhir:write,,hl7:write,\n",
			[]APIKey{{"ehr", hashA, []string{"fhir:write", "hl7:write"}}}, ""},
		{"an upper-case hex hash is read", "ehr sha256:" + strings.ToUpper(hexA) + " x\n",
			[]APIKey{{"ehr", "sha256:" + strings.ToUpper(hexA), []string{"x"}}}, ""},
		{"a line without scopes is refused", "ehr " + hashA + "\n", nil, ":1: want"},
		{"a plain key instead of a hash is refused", "ehr s3cret fhir:write\n", nil, `:1: key "ehr": the hash must start with sha256:`},
		{"a short hash names the line and the key", "# c\nehr " + hashA[:40] + " x\n", nil, `:2: key "ehr": hash must have 64 hex digits`},
		{"a hash that is not hex names the line and the key", "ehr " + hashA[:69] + "zz x\n", nil, `:1: key "ehr": hash has a character`},
		{"a hash in the name's place is refused without echoing it", hashA + " ehr x\n", nil, ":1: the first field must be the key's name"},
		{"a duplicate name is refused", "a " + hashA + " x\na " + hashB + " y\n", nil, "already used on line 1"},
		{"one hash for two names is refused", "a " + hashA + " x\nb " + hashA + " y\n", nil, `:2: key "b" has the same hash as the key on line 1`},
		{"a scope with a quote is refused", "a " + hashA + " hl7:write,\"x\n", nil, `:1: key "a": scope`},
		{"an empty file is refused", "# nothing\n", nil, "no keys"},
		{"a file over 1 MiB is refused", "a " + hashA + " x\n#" + strings.Repeat("x", MaxAPIKeyFileBytes), nil, "larger than 1 MiB"},
		{"a line over 64 KiB is refused", "a " + hashA + " x\n#" + strings.Repeat("x", 70<<10), nil, ":2: bufio.Scanner: token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "keys")
			writeFile(t, p, []byte(tt.file))
			got, err := LoadAPIKeyFile(p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), p) {
					t.Fatalf("error %q does not name the file", err)
				}
				for _, secret := range []string{"s3cret", hexA[:16], strings.ToUpper(hexA[:16])} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error %q echoes a secret or hash", err)
					}
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestMissingAPIKeyFileIsNamed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope")
	_, err := LoadAPIKeyFile(p)
	if err == nil || !strings.Contains(err.Error(), p) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v, want one naming %s and not-exist", err, p)
	}
}
