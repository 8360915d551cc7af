package tlsconf

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Reloader serves one listener's certificate and client CA pool from files,
// and reloads them when the files change, without a restart: each new
// handshake uses what was last loaded successfully; connections already
// established keep theirs. Safe for concurrent use.
type Reloader struct {
	name     string
	o        Options
	min      uint16
	auth     tls.ClientAuthType
	subjects subjectSet
	m        *Metrics
	log      *slog.Logger

	cur atomic.Pointer[state] // what handshakes use; never nil after New

	mu      sync.Mutex // serialises loads
	lastSig [sha256.Size]byte
}

// state is one successful load: an immutable tls.Config shared by the
// handshakes that start while it is current.
type state struct {
	cfg  *tls.Config
	leaf *x509.Certificate
}

// files are the contents of the option's files; ca is nil without a
// ClientCAFile.
type files struct{ cert, key, ca []byte }

// New validates o and loads the key pair and the client CA pool at once; an
// unreadable or invalid file is an error. name is the `listener` label and
// log field (e.g. "mllp", "https", "grpc"); m and log may be nil. Nothing is
// watched until Run is called.
func New(name string, o Options, m *Metrics, log *slog.Logger) (*Reloader, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{name: name, o: o, m: m, subjects: newSubjectSet(o.AllowedSubjects),
		log: log.With("listener", name)}
	r.min, _ = o.minVersion()
	r.auth, _ = o.clientAuth()

	f, sig, err := r.read()
	if err == nil {
		err = r.install(f)
	}
	if err != nil {
		return nil, err
	}
	r.lastSig = sig
	m.initListener(name)
	return r, nil
}

// TLSConfig returns a new server configuration whose GetConfigForClient
// hands each handshake the configuration of the files last loaded, so a
// certificate or CA renewed on disk reaches new connections without a
// restart. Changing fields of the returned config has no effect on
// handshakes (set Options.NextProtos for ALPN); grpc's credentials.NewTLS
// keeps working because it wraps GetConfigForClient. Handshake failures are
// not counted on this path: use WrapListener or GRPCCredentials, or call
// Metrics.HandshakeFailed where the handshake error is seen.
func (r *Reloader) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   r.min,
		CipherSuites: cipherSuites,
		NextProtos:   r.o.NextProtos,
		ClientAuth:   r.auth,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &r.cur.Load().cfg.Certificates[0], nil
		},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return r.cur.Load().cfg, nil
		},
	}
}

// Leaf returns the certificate currently served.
func (r *Reloader) Leaf() *x509.Certificate { return r.cur.Load().leaf }

// Reload reads and parses the files now and, if they are valid, serves them
// to new handshakes. On error the previous certificate stays in use; the
// error names the files, never key material. Each call is counted in
// gateway_tls_cert_reloads_total. Safe to call from a SIGHUP handler while
// Run runs.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, sig, err := r.read()
	r.lastSig = sig
	if err == nil {
		err = r.install(f)
	}
	r.reloaded(err)
	return err
}

// Run checks the files every Options.ReloadInterval and reloads them when
// their contents changed, until ctx ends. It blocks. Contents are compared
// by hash rather than by modification time, which misses a rewrite within
// the file system's time granularity; the files are a few kilobytes. A
// failed reload keeps the old certificate, logs a warning and is counted;
// the same broken contents are not retried until they change again.
func (r *Reloader) Run(ctx context.Context) {
	t := time.NewTicker(r.o.reloadInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.check()
		}
	}
}

// check reloads the files if they differ from the last ones tried.
func (r *Reloader) check() {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, sig, err := r.read()
	if sig == r.lastSig {
		return
	}
	r.lastSig = sig
	if err == nil {
		err = r.install(f)
	}
	r.reloaded(err)
}

func (r *Reloader) reloaded(err error) {
	r.m.reloaded(r.name, err)
	if err != nil {
		r.log.Warn("tls certificate reload failed, keeping the previous one",
			"cert_file", r.o.CertFile, "key_file", r.o.KeyFile, "client_ca_file", r.o.ClientCAFile, "error", err)
	}
}

// read returns the files' contents and a signature of them; on error the
// signature is that of the error, so a lasting error is reported once.
func (r *Reloader) read() (files, [sha256.Size]byte, error) {
	var f files
	var err error
	h := sha256.New()
	for _, p := range []struct {
		path string
		dst  *[]byte
	}{{r.o.CertFile, &f.cert}, {r.o.KeyFile, &f.key}, {r.o.ClientCAFile, &f.ca}} {
		if p.path == "" {
			continue
		}
		if *p.dst, err = os.ReadFile(p.path); err != nil {
			err = fmt.Errorf("tlsconf: read: %w", err)
			return files{}, sha256.Sum256([]byte(err.Error())), err
		}
		_ = binary.Write(h, binary.BigEndian, uint64(len(*p.dst)))
		h.Write(*p.dst)
	}
	var sig [sha256.Size]byte
	h.Sum(sig[:0])
	return f, sig, nil
}

// install parses f and makes it current.
func (r *Reloader) install(f files) error {
	st, err := r.build(f)
	if err != nil {
		return err
	}
	r.cur.Store(st)
	r.m.setExpiry(r.name, st.leaf.NotAfter)
	log := r.log.With("subject", st.leaf.Subject.String(), "serial", st.leaf.SerialNumber.Text(16),
		"not_after", st.leaf.NotAfter.UTC().Format(time.RFC3339))
	if time.Now().After(st.leaf.NotAfter) {
		log.Warn("tls certificate served has expired")
	} else {
		log.Info("tls certificate loaded")
	}
	return nil
}

func (r *Reloader) build(f files) (*state, error) {
	cert, err := tls.X509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: key pair %s, %s: %w", r.o.CertFile, r.o.KeyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tlsconf: certificate %s: %w", r.o.CertFile, err)
		}
	}
	cfg := &tls.Config{
		MinVersion:   r.min,
		CipherSuites: cipherSuites,
		NextProtos:   r.o.NextProtos,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   r.auth,
	}
	if f.ca != nil {
		cfg.ClientCAs = x509.NewCertPool()
		if !cfg.ClientCAs.AppendCertsFromPEM(f.ca) {
			return nil, fmt.Errorf("tlsconf: client CA file %s: %w", r.o.ClientCAFile, errNoCACerts)
		}
	}
	if r.subjects != nil {
		cfg.VerifyConnection = r.subjects.verifyConnection
	}
	return &state{cfg: cfg, leaf: leaf}, nil
}

var errNoCACerts = errors.New("no PEM certificates found")
