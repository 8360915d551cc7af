package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"time"
)

// Client authentication modes, the values of Options.ClientAuth.
const (
	ClientAuthNone    = "none"    // no client certificate is asked for (the default)
	ClientAuthRequest = "request" // asked for; verified against ClientCAFile when sent
	ClientAuthRequire = "require" // required and verified against ClientCAFile
)

// DefaultReloadInterval is how often Run checks the files when
// Options.ReloadInterval is zero.
const DefaultReloadInterval = 10 * time.Second

// Options configure one TLS listener. The zero value is not valid: CertFile
// and KeyFile are required.
type Options struct {
	CertFile string // PEM certificate chain served, leaf first
	KeyFile  string // PEM private key of the leaf

	ClientCAFile    string   // PEM CA certificates that client certificates must chain to
	ClientAuth      string   // "none" (default), "request" or "require"
	AllowedSubjects []string // with "require": accepted client subjects, each one ParseSubject entry; empty = any verified client

	MinVersion     string        // "1.2" (default) or "1.3"; anything lower is refused
	ReloadInterval time.Duration // how often Run checks the files for change; default 10s

	// NextProtos are the ALPN protocols offered, most preferred first:
	// ["h2", "http/1.1"] for an HTTPS door served through WrapListener.
	// Leave it empty for MLLP. GRPCCredentials adds "h2" itself.
	NextProtos []string
}

// OptionError reports an invalid Options field. Err is the cause, an
// *fs.PathError for an unreadable file.
type OptionError struct {
	Field string // the Options field, e.g. "CertFile"
	Err   error
}

func (e *OptionError) Error() string { return "tlsconf: " + e.Field + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *OptionError) Unwrap() error { return e.Err }

// Validate checks the options without parsing the files: the certificate and
// key are required, every named file must be readable, MinVersion must be
// 1.2 or 1.3, "request" and "require" need a ClientCAFile, and
// AllowedSubjects need ClientAuth "require". It returns the first problem as
// an *OptionError.
func (o Options) Validate() error {
	if o.CertFile == "" {
		return &OptionError{"CertFile", errors.New("required")}
	}
	if o.KeyFile == "" {
		return &OptionError{"KeyFile", errors.New("required")}
	}
	files := []struct{ field, path string }{{"CertFile", o.CertFile}, {"KeyFile", o.KeyFile}, {"ClientCAFile", o.ClientCAFile}}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if err := readable(f.path); err != nil {
			return &OptionError{f.field, err}
		}
	}
	if _, err := o.minVersion(); err != nil {
		return &OptionError{"MinVersion", err}
	}
	auth, err := o.clientAuth()
	if err != nil {
		return &OptionError{"ClientAuth", err}
	}
	if auth != tls.NoClientCert && o.ClientCAFile == "" {
		return &OptionError{"ClientCAFile", fmt.Errorf("required with client auth %q", o.ClientAuth)}
	}
	if len(o.AllowedSubjects) > 0 && auth != tls.RequireAndVerifyClientCert {
		return &OptionError{"AllowedSubjects", errors.New(`need client auth "require"`)}
	}
	for i, s := range o.AllowedSubjects {
		if _, err := ParseSubject(s); err != nil {
			return &OptionError{"AllowedSubjects", fmt.Errorf("entry %d: %w", i, err)}
		}
	}
	if o.ReloadInterval < 0 {
		return &OptionError{"ReloadInterval", fmt.Errorf("negative: %v", o.ReloadInterval)}
	}
	return nil
}

// readable opens and closes path: it exists, is a file and may be read.
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

func (o Options) minVersion() (uint16, error) {
	switch o.MinVersion {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	case "1.0", "1.1":
		return 0, fmt.Errorf("TLS %s is refused, the minimum is 1.2", o.MinVersion)
	default:
		return 0, fmt.Errorf("unknown TLS version %q (want 1.2 or 1.3)", o.MinVersion)
	}
}

func (o Options) clientAuth() (tls.ClientAuthType, error) {
	switch o.ClientAuth {
	case "", ClientAuthNone:
		return tls.NoClientCert, nil
	case ClientAuthRequest:
		return tls.VerifyClientCertIfGiven, nil
	case ClientAuthRequire:
		return tls.RequireAndVerifyClientCert, nil
	default:
		return 0, fmt.Errorf("unknown mode %q (want none, request or require)", o.ClientAuth)
	}
}

func (o Options) reloadInterval() time.Duration {
	if o.ReloadInterval <= 0 {
		return DefaultReloadInterval
	}
	return o.ReloadInterval
}

// cipherSuites are the TLS 1.2 suites offered: ECDHE key exchange and AEAD
// ciphers only. TLS 1.3 suites are not configurable and all qualify.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}
