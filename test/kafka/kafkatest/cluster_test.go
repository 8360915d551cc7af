package kafkatest

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestOptionsBecomeScriptArguments(t *testing.T) {
	tests := []struct {
		name string
		in   Options
		want []string
	}{
		{"zero options mean 3 brokers on 19092", Options{}, []string{"--brokers", "3", "--base-port", "19092"}},
		{"SASL and TLS add their flags", Options{Brokers: 1, BasePort: 20000, SASL: true, TLS: true},
			[]string{"--brokers", "1", "--base-port", "20000", "--sasl", "--tls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.withDefaults().args(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("args = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadEnvParsesClusterEnv(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cluster.env")
	if err := os.WriteFile(p, []byte("KAFKA_BOOTSTRAP=127.0.0.1:1,127.0.0.1:2\nKAFKA_ADMIN_PASSWORD=a=b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := readEnv(p)
	if err != nil {
		t.Fatal(err)
	}
	if env["KAFKA_BOOTSTRAP"] != "127.0.0.1:1,127.0.0.1:2" || env["KAFKA_ADMIN_PASSWORD"] != "a=b" {
		t.Fatalf("env = %v", env)
	}
	if _, err := readEnv(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing cluster.env gave no error")
	}
}

func TestScriptIsFoundBesideThePackage(t *testing.T) {
	p, err := scriptPath()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "kafka.sh" {
		t.Fatalf("script path %s", p)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}
