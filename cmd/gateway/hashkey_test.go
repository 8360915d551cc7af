package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/edge/auth"
)

func TestHashKeyPrintsALineTheGatewayAccepts(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	var out bytes.Buffer
	if err := hashKeyCmd([]string{"ehr", "fhir:write,hl7:write"}, strings.NewReader(key+"\n"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), key) {
		t.Fatal("the output contains the key")
	}
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadAPIKeyFile(p); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(context.Background(), auth.Config{APIKeysFile: p}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := a.Authenticate(context.Background(), "Bearer "+key, auth.ScopeHL7Write); err != nil || p.Name != "ehr" {
		t.Fatalf("the hashed key does not authenticate: %+v %v", p, err)
	}
}

func TestHashKeyRefusesAShortKey(t *testing.T) {
	if err := hashKeyCmd(nil, strings.NewReader("short\n"), &bytes.Buffer{}, io.Discard); err == nil {
		t.Fatal("a 5-character key was hashed")
	}
	if err := hashKeyCmd([]string{"only-a-name"}, strings.NewReader("0123456789abcdef0123\n"), &bytes.Buffer{}, io.Discard); err == nil {
		t.Fatal("a name without scopes was accepted")
	}
}
