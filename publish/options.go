// Package publish writes the gateway's records to Kafka with franz-go and
// implements the pipeline's Publisher: a publish returns only after every
// record was acknowledged by all in-sync replicas (acks=all, idempotent
// producer), or fails with a *publish.Error whose Reason says why.
//
// Options is the one place where configuration becomes franz-go options;
// everything that builds a Kafka client (the producer, doctor, admin tools)
// goes through it.
package publish

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/hl7gw/gateway/config"
)

// Confluent Cloud preset values; see config.Kafka.Preset.
const (
	confluentRequestTimeout = 30 * time.Second
	confluentMetadataMaxAge = 60 * time.Second
	confluentDialTimeout    = 20 * time.Second
)

// Options turns the Kafka configuration into franz-go client options:
// seed brokers, client id, acks=all with the idempotent producer (unless
// the configuration explicitly allows unsafe acks and disables
// idempotence), record delivery timeout, produce request timeout, linger,
// compression, buffer limits, batch size, TLS, SASL and the provider
// preset. extra options are appended last and so win. It reads the TLS CA,
// certificate and key files; it does not contact any broker. It fails when
// brokers is empty or a setting cannot be turned into an option; errors
// never contain the password.
func Options(k config.Kafka, brokers []string, extra ...kgo.Opt) ([]kgo.Opt, error) {
	if len(brokers) == 0 {
		return nil, errors.New("publish: no seed brokers")
	}
	p := k.Producer
	opts := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ClientID(k.ClientID),
		kgo.RecordDeliveryTimeout(p.DeliveryTimeout),
		kgo.ProduceRequestTimeout(p.RequestTimeout),
		kgo.ProducerLinger(p.Linger),
	}
	acks, err := acksOpt(p)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.RequiredAcks(acks))
	if !p.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	codec, err := compression(p.Compression)
	if err != nil {
		return nil, err
	}
	// Fall back to no compression for brokers too old for the codec.
	opts = append(opts, kgo.ProducerBatchCompression(codec, kgo.NoCompression()))
	if p.MaxBufferedRecords > 0 {
		opts = append(opts, kgo.MaxBufferedRecords(p.MaxBufferedRecords))
	}
	if p.MaxBufferedBytes > 0 {
		opts = append(opts, kgo.MaxBufferedBytes(int(p.MaxBufferedBytes)))
	}
	if p.MaxBatchBytes > 0 {
		opts = append(opts, kgo.ProducerBatchMaxBytes(p.MaxBatchBytes))
	}

	confluent := k.Preset == config.PresetConfluentCloud
	if k.TLS.Enabled || confluent {
		tc, err := TLSConfig(k.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	mech := k.SASL.Mechanism
	if confluent && mech == "" {
		mech = config.SASLPlain
	}
	if mech != "" {
		m, err := saslMechanism(mech, k.SASL)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	if confluent {
		rt := p.RequestTimeout
		if rt < confluentRequestTimeout {
			rt = confluentRequestTimeout
		}
		opts = append(opts,
			kgo.ProduceRequestTimeout(rt),
			kgo.MetadataMaxAge(confluentMetadataMaxAge),
			kgo.DialTimeout(confluentDialTimeout),
		)
	}
	return append(opts, extra...), nil
}

func acksOpt(p config.Producer) (kgo.Acks, error) {
	switch p.Acks {
	case "all", "-1", "":
		return kgo.AllISRAcks(), nil
	case "1", "leader", "0", "none":
		if !p.AllowUnsafeAcks {
			return kgo.Acks{}, fmt.Errorf("publish: acks=%s needs allow_unsafe_acks", p.Acks)
		}
		if p.Idempotent {
			return kgo.Acks{}, fmt.Errorf("publish: acks=%s needs idempotent=false", p.Acks)
		}
		if p.Acks == "1" || p.Acks == "leader" {
			return kgo.LeaderAck(), nil
		}
		return kgo.NoAck(), nil
	default:
		return kgo.Acks{}, fmt.Errorf("publish: unknown acks %q", p.Acks)
	}
}

func compression(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "snappy", "":
		return kgo.SnappyCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "none":
		return kgo.NoCompression(), nil
	default:
		return kgo.CompressionCodec{}, fmt.Errorf("publish: unknown compression %q", name)
	}
}

// TLSConfig builds the client TLS configuration to the brokers (Options
// uses it; gateway doctor too, for its own handshake). An empty ServerName
// lets franz-go use each broker's host name. It reads the CA and client
// certificate files.
func TLSConfig(t config.TLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // explicit operator choice, documented as unsafe
	}
	if t.MinVersion == "1.3" {
		tc.MinVersion = tls.VersionTLS13
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("publish: tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("publish: tls ca_file %s: no PEM certificates", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("publish: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// saslMechanism builds the franz-go SASL mechanism. The password comes
// from the configuration (already read from password_file by
// config.Load), or from the password file if it was not read yet.
func saslMechanism(mech string, s config.SASL) (sasl.Mechanism, error) {
	pass := s.Password.Reveal()
	if pass == "" && s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("publish: sasl password_file: %w", err)
		}
		pass = trimNewline(string(b))
	}
	switch mech {
	case config.SASLPlain:
		return plain.Auth{User: s.Username, Pass: pass}.AsMechanism(), nil
	case config.SASLScramSHA256:
		return scram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism(), nil
	case config.SASLScramSHA512:
		return scram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism(), nil
	default:
		return nil, fmt.Errorf("publish: unknown sasl mechanism %q", mech)
	}
}

func trimNewline(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// ForInstance returns k with the gateway's instance id in its Kafka
// identities: client.id "<client_id>-<instance>" and transactional ids
// "<transactional_id_prefix>-<instance>-<n>". Two instances with
// different ids therefore never share a transactional id (one would fence
// the other's transactions), and broker logs, quotas and request metrics
// tell the instances apart. An empty instance leaves k unchanged.
func ForInstance(k config.Kafka, instance string) config.Kafka {
	if instance == "" {
		return k
	}
	k.ClientID += "-" + instance
	k.Producer.TransactionalIDPrefix += "-" + instance
	return k
}
