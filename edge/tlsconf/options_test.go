package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	p := newPKI(t)
	missing := filepath.Join(p.dir, "missing.pem")
	base := func(f func(*Options)) Options {
		o := Options{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile}
		f(&o)
		return o
	}
	tests := []struct {
		name      string
		o         Options
		wantField string // "" = valid
		wantIn    string
	}{
		{name: "a certificate and key alone are valid", o: base(func(o *Options) { o.ClientCAFile = "" })},
		{name: "mutual TLS with an allow-list is valid", o: base(func(o *Options) {
			o.ClientAuth, o.AllowedSubjects, o.MinVersion = ClientAuthRequire, []string{"CN=a,O=b", "b"}, "1.3"
		})},
		{name: "request with a CA file is valid", o: base(func(o *Options) { o.ClientAuth = ClientAuthRequest })},
		{name: "the certificate is required", o: base(func(o *Options) { o.CertFile = "" }), wantField: "CertFile", wantIn: "required"},
		{name: "the key is required", o: base(func(o *Options) { o.KeyFile = "" }), wantField: "KeyFile", wantIn: "required"},
		{name: "an unreadable certificate is reported", o: base(func(o *Options) { o.CertFile = missing }), wantField: "CertFile", wantIn: "missing.pem"},
		{name: "an unreadable key is reported", o: base(func(o *Options) { o.KeyFile = missing }), wantField: "KeyFile", wantIn: "missing.pem"},
		{name: "an unreadable CA file is reported", o: base(func(o *Options) { o.ClientCAFile = missing }), wantField: "ClientCAFile", wantIn: "missing.pem"},
		{name: "a directory is not a file", o: base(func(o *Options) { o.KeyFile = p.dir }), wantField: "KeyFile", wantIn: "directory"},
		{name: "TLS 1.1 is refused", o: base(func(o *Options) { o.MinVersion = "1.1" }), wantField: "MinVersion", wantIn: "minimum is 1.2"},
		{name: "TLS 1.0 is refused", o: base(func(o *Options) { o.MinVersion = "1.0" }), wantField: "MinVersion", wantIn: "minimum is 1.2"},
		{name: "an unknown version is refused", o: base(func(o *Options) { o.MinVersion = "TLS1.2" }), wantField: "MinVersion", wantIn: "unknown"},
		{name: "an unknown client auth mode is refused", o: base(func(o *Options) { o.ClientAuth = "required" }), wantField: "ClientAuth", wantIn: "unknown"},
		{name: "require needs a CA file", o: base(func(o *Options) { o.ClientAuth, o.ClientCAFile = ClientAuthRequire, "" }), wantField: "ClientCAFile", wantIn: "require"},
		{name: "request needs a CA file", o: base(func(o *Options) { o.ClientAuth, o.ClientCAFile = ClientAuthRequest, "" }), wantField: "ClientCAFile", wantIn: "request"},
		{name: "an allow-list needs require", o: base(func(o *Options) { o.ClientAuth, o.AllowedSubjects = ClientAuthRequest, []string{"a"} }), wantField: "AllowedSubjects", wantIn: "require"},
		{name: "an allow-list entry may not be blank", o: base(func(o *Options) { o.ClientAuth, o.AllowedSubjects = ClientAuthRequire, []string{"a", " "} }), wantField: "AllowedSubjects", wantIn: "entry 1"},
		{name: "a negative reload interval is refused", o: base(func(o *Options) { o.ReloadInterval = -1 }), wantField: "ReloadInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Field != tt.wantField || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("Validate = %v, want an OptionError on %s containing %q", err, tt.wantField, tt.wantIn)
			}
			if strings.Contains(tt.wantIn, "missing") && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%v does not wrap fs.ErrNotExist", err)
			}
		})
	}
}

func TestNewRefusesBadFiles(t *testing.T) {
	p := newPKI(t)
	garbage := filepath.Join(p.dir, "garbage.pem")
	write(t, garbage, "garbage")
	tests := []struct {
		name   string
		o      Options
		wantIn string
	}{
		{name: "invalid options", o: Options{CertFile: p.certFile}, wantIn: "KeyFile"},
		{name: "a certificate that is not PEM", o: Options{CertFile: garbage, KeyFile: p.keyFile}, wantIn: "garbage.pem"},
		{name: "a key that is not PEM", o: Options{CertFile: p.certFile, KeyFile: garbage}, wantIn: "garbage.pem"},
		{name: "a CA file without certificates", o: Options{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: garbage, ClientAuth: ClientAuthRequire}, wantIn: "client CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New("test", tt.o, nil, nil); err == nil || !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("New = %v, want an error containing %q", err, tt.wantIn)
			}
		})
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.HandshakeFailed("x", io.EOF)
	m.reloaded("x", nil)
	m.setExpiry("x", time.Now())
	m.initListener("x")
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "nil is no failure", err: nil, want: ""},
		{name: "a subject error, wrapped", err: fmt.Errorf("handshake: %w", &SubjectError{Subject: "CN=x"}), want: ReasonSubjectNotAllowed},
		{name: "crypto/tls's missing certificate", err: errors.New("tls: client didn't provide a certificate"), want: ReasonNoClientCert},
		{name: "our missing certificate", err: errNoClientCert, want: ReasonNoClientCert},
		{name: "a verification error", err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, want: ReasonBadClientCert},
		{name: "an x509 validity error", err: x509.CertificateInvalidError{Reason: x509.Expired}, want: ReasonBadClientCert},
		{name: "an unparsable client certificate", err: errors.New("tls: failed to parse client certificate: x509: malformed"), want: ReasonBadClientCert},
		{name: "a bad client signature", err: errors.New("tls: invalid signature by the client certificate: crypto/ecdsa: verification error"), want: ReasonBadClientCert},
		{name: "an unsupported version", err: errors.New("tls: client offered only unsupported versions: [302]"), want: ReasonOther},
		{name: "the client refusing our certificate", err: errors.New("remote error: tls: bad certificate"), want: ReasonOther},
		{name: "end of file", err: io.EOF, want: ReasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
