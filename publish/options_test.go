package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
)

func TestOptionsRefuseWhatCannotBeBuilt(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(k *config.Kafka)
		brokers []string
		want    string
	}{
		{"no brokers is an error", nil, nil, "no seed brokers"},
		{"acks=1 without the unsafe switch is an error", func(k *config.Kafka) { k.Producer.Acks = "1" }, []string{"a:1"}, "allow_unsafe_acks"},
		{"acks=1 with idempotence is an error", func(k *config.Kafka) {
			k.Producer.Acks, k.Producer.AllowUnsafeAcks = "1", true
		}, []string{"a:1"}, "idempotent=false"},
		{"an unknown codec is an error", func(k *config.Kafka) { k.Producer.Compression = "brotli" }, []string{"a:1"}, "compression"},
		{"a CA file without certificates is an error", func(k *config.Kafka) {
			k.TLS.Enabled, k.TLS.CAFile = true, notPEM
		}, []string{"a:1"}, "no PEM certificates"},
		{"a missing client key pair is an error", func(k *config.Kafka) {
			k.TLS.Enabled, k.TLS.CertFile, k.TLS.KeyFile = true, filepath.Join(dir, "c"), filepath.Join(dir, "k")
		}, []string{"a:1"}, "tls client certificate"},
		{"a missing password file is an error", func(k *config.Kafka) {
			k.SASL = config.SASL{Mechanism: config.SASLPlain, Username: "u", PasswordFile: filepath.Join(dir, "nope")}
		}, []string{"a:1"}, "password_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := config.Default().Kafka
			if tt.mutate != nil {
				tt.mutate(&k)
			}
			_, err := Options(k, tt.brokers)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSASLPlainAndScramAuthenticate(t *testing.T) {
	for _, mech := range []string{config.SASLPlain, config.SASLScramSHA256, config.SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(mech, "gw", "pw"), kfake.SeedTopics(1, "t"))
			k := testKafka()
			k.SASL = config.SASL{Mechanism: mech, Username: "gw", Password: config.NewSecret("pw")}
			p := newProducer(t, k, c, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := p.Publish(ctx, []*kgo.Record{rec("t", "k", "v")}, true); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfluentPresetTurnsOnTLSAndPlain(t *testing.T) {
	k := config.Default().Kafka
	k.Preset = config.PresetConfluentCloud
	k.SASL = config.SASL{Username: "key", Password: config.NewSecret("secret")}
	plain, err := Options(config.Default().Kafka, []string{"a:1"})
	if err != nil {
		t.Fatal(err)
	}
	preset, err := Options(k, []string{"a:1"})
	if err != nil {
		t.Fatal(err)
	}
	// TLS dialer, SASL and the three cloud timeouts are added.
	if len(preset) != len(plain)+5 {
		t.Fatalf("preset options = %d, plain = %d", len(preset), len(plain))
	}
	cl, err := kgo.NewClient(preset...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if got := cl.OptValue(kgo.ProduceRequestTimeout); got != 30*time.Second {
		t.Errorf("produce request timeout = %v", got)
	}
	if got := cl.OptValue(kgo.MetadataMaxAge); got != 60*time.Second {
		t.Errorf("metadata max age = %v", got)
	}
	if got := cl.OptValue(kgo.DialTLSConfig); got == nil {
		t.Error("no TLS config")
	}
}
