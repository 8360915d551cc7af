package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEdgeSettingsAreReadFromDottedKeys(t *testing.T) {
	dir := t.TempDir()
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cert, key, ca, keys, jwks := file("c.pem"), file("k.pem"), file("ca.pem"), file("keys"), file("jwks.json")
	c := Default()
	c.Connectors = []Connector{
		{Name: "adt", Type: TypeHL7MLLP, Config: map[string]string{
			"tls.cert.file": cert, "tls.key.file": key, "tls.client.ca.file": ca,
			"tls.client.allowed.subjects": "lab-engine; CN=ris", "source.allow": "10.0.0.0/8, 192.168.1.7",
			"max.connections.per.source": "4", "hl7.dedup.enabled": "true", "hl7.dedup.window": "90s",
		}},
		{Name: "api", Type: TypeGRPC, Config: map[string]string{
			"auth.api.keys.file": keys, "auth.jwt.jwks.file": jwks, "auth.jwt.issuer": "https://idp", "auth.jwt.audience": "gw",
			"grpc.max.concurrent.streams": "8", "max.connections": "50",
		}},
	}
	s, err := c.Connectors[0].Settings(c)
	if err != nil {
		t.Fatal(err)
	}
	want := EdgeSettings{
		TLS: TLSListen{CertFile: cert, KeyFile: key, ClientCAFile: ca, ClientAuth: "require",
			AllowedSubjects: []string{"lab-engine", "CN=ris"}, MinVersion: "1.2", ReloadInterval: 10 * time.Second},
		SourceAllow: []string{"10.0.0.0/8", "192.168.1.7"}, MaxConnsPerSource: 4,
		Dedup: true, DedupWindow: 90 * time.Second, DedupMax: 100000, DedupScope: DedupScopeProcess,
	}
	if !reflect.DeepEqual(s.Edge, want) {
		t.Errorf("mllp edge:\n got %+v\nwant %+v", s.Edge, want)
	}
	g, err := c.Connectors[1].Settings(c)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Edge.Auth.Enabled() || g.Edge.Auth.Issuer != "https://idp" || g.Edge.MaxStreams != 8 || g.MaxConnections != 50 {
		t.Errorf("grpc edge = %+v, max connections %d", g.Edge, g.MaxConnections)
	}
	if g.Edge.Auth.APIKeysFile != keys || g.Edge.Auth.APIKeysReloadInterval != 30*time.Second {
		t.Errorf("grpc api keys = %q every %v, want %q every 30s", g.Edge.Auth.APIKeysFile, g.Edge.Auth.APIKeysReloadInterval, keys)
	}
	c.Connectors[1].Config["auth.api.keys.reload.interval"] = "5s"
	if g, err = c.Connectors[1].Settings(c); err != nil || g.Edge.Auth.APIKeysReloadInterval != 5*time.Second {
		t.Errorf("auth.api.keys.reload.interval=5s read as %v, %v", g.Edge.Auth.APIKeysReloadInterval, err)
	}
}

func TestEdgeSettingsRefuseWhatCannotWork(t *testing.T) {
	cert := filepath.Join(t.TempDir(), "c.pem")
	if err := os.WriteFile(cert, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		typ  string
		kv   map[string]string
		want string
	}{
		{"a certificate needs its key", TypeHL7MLLP, map[string]string{"tls.cert.file": cert}, "config.tls.cert.file"},
		{"a missing certificate file is named", TypeHL7MLLP, map[string]string{"tls.cert.file": cert + ".nope", "tls.key.file": cert}, "no such file"},
		{"client certificates need TLS", TypeHL7MLLP, map[string]string{"tls.client.ca.file": cert}, "client certificates need TLS"},
		{"requiring client certificates needs a CA", TypeHL7MLLP, map[string]string{"tls.cert.file": cert, "tls.key.file": cert, "tls.client.auth": "require"}, "needs tls.client.ca.file"},
		{"TLS below 1.2 is refused", TypeHL7MLLP, map[string]string{"tls.cert.file": cert, "tls.key.file": cert, "tls.min.version": "1.1"}, "1.2 or 1.3"},
		{"a bad source address is named", TypeHL7MLLP, map[string]string{"source.allow": "10.0.0.0/8,lab.example"}, `"lab.example"`},
		{"MLLP has no bearer tokens", TypeHL7MLLP, map[string]string{"auth.api.keys.file": cert}, "unknown key"},
		{"a key file reload interval must be positive", TypeFHIRREST, map[string]string{"auth.api.keys.file": cert, "auth.api.keys.reload.interval": "0s"}, "config.auth.api.keys.reload.interval: must be positive"},
		{"a key file reload interval must be a duration", TypeGRPC, map[string]string{"auth.api.keys.file": cert, "auth.api.keys.reload.interval": "often"}, "config.auth.api.keys.reload.interval"},
		{"MLLP has no key file to reload", TypeHL7MLLP, map[string]string{"auth.api.keys.reload.interval": "5s"}, "unknown key"},
		{"a JWKS needs issuer and audience", TypeFHIRREST, map[string]string{"auth.jwt.jwks.file": cert}, "auth.jwt.issuer and auth.jwt.audience"},
		{"a JWKS URL must be http(s)", TypeGRPC, map[string]string{"auth.jwt.jwks.url": "file:///etc/jwks", "auth.jwt.issuer": "i", "auth.jwt.audience": "a"}, "http(s) URL"},
		{"one JWKS source only", TypeGRPC, map[string]string{"auth.jwt.jwks.url": "https://idp/jwks", "auth.jwt.jwks.file": cert, "auth.jwt.issuer": "i", "auth.jwt.audience": "a"}, "not both"},
		{"streams must be positive", TypeGRPC, map[string]string{"grpc.max.concurrent.streams": "0"}, "at least 1"},
		{"a dedup window must be a duration", TypeHL7MLLP, map[string]string{"hl7.dedup.window": "soon"}, "config.hl7.dedup.window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			_, err := Connector{Name: "x", Type: tt.typ, Config: tt.kv}.Settings(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
