package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const hashA = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

func TestLoadAPIKeys(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []APIKey
		err  string
	}{
		{"keys with scopes, comments and blank lines are read",
			"# ehr system\nehr " + hashA + " fhir:write,hl7:write\n\nlab " + hashA + " hl7:write\n",
			[]APIKey{{"ehr", hashA, []string{"fhir:write", "hl7:write"}}, {"lab", hashA, []string{"hl7:write"}}}, ""},
		{"a line without scopes is refused", "ehr " + hashA + "\n", nil, ":1: want"},
		{"a plain key instead of a hash is refused", "ehr s3cret fhir:write\n", nil, "must start with sha256:"},
		{"a duplicate name is refused", "a " + hashA + " x\na " + hashA + " y\n", nil, "already used on line 1"},
		{"an empty file is refused", "# nothing\n", nil, "no keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(p, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadAPIKeys(p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error echoes the secret: %v", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
