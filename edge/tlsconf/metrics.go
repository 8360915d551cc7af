package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Handshake failure reasons, the `reason` label of
// gateway_tls_handshake_failures_total, as returned by Classify.
const (
	ReasonSubjectNotAllowed = "subject_not_allowed" // verified, but not in AllowedSubjects
	ReasonNoClientCert      = "no_client_cert"      // required, none sent
	ReasonBadClientCert     = "bad_client_cert"     // unknown CA, expired, wrong usage, unparsable, bad signature
	ReasonOther             = "other"               // protocol version, cipher suites, timeouts, resets, plaintext clients, ...
)

// Reload results, the `result` label of gateway_tls_cert_reloads_total.
const (
	ResultOK    = "ok"
	ResultError = "error"
)

var reasons = []string{ReasonSubjectNotAllowed, ReasonNoClientCert, ReasonBadClientCert, ReasonOther}

// Metrics are the TLS listeners' Prometheus metrics; the Reloader's name is
// the `listener` label. A nil *Metrics records nothing. Safe for concurrent
// use.
type Metrics struct {
	failures *prometheus.CounterVec
	reloads  *prometheus.CounterVec
	expiry   *prometheus.GaugeVec
}

// NewMetrics creates the TLS metrics and registers them with reg. It panics
// if they are already registered with reg (a wiring bug): create one Metrics
// and share it between listeners.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_tls_handshake_failures_total",
			Help: "Server TLS handshakes that failed, by reason (subject_not_allowed, no_client_cert, bad_client_cert, other).",
		}, []string{"listener", "reason"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_tls_cert_reloads_total",
			Help: "Reloads of a listener's certificate, key and client CA files after they changed, by result (ok, error: the old certificate is kept).",
		}, []string{"listener", "result"}),
		expiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gateway_tls_cert_expiry_timestamp_seconds",
			Help: "NotAfter of the certificate a listener serves, in Unix seconds.",
		}, []string{"listener"}),
	}
	reg.MustRegister(m.failures, m.reloads, m.expiry)
	return m
}

// HandshakeFailed counts one failed server handshake of listener, under the
// reason Classify gives err. A nil err is not counted.
func (m *Metrics) HandshakeFailed(listener string, err error) {
	if m == nil || err == nil {
		return
	}
	m.failures.WithLabelValues(listener, Classify(err)).Inc()
}

// Classify names the reason a server handshake failed with err: one of the
// Reason constants, or "" for a nil err. Errors are recognised by type
// (*SubjectError, *tls.CertificateVerificationError, x509 errors) and, where
// crypto/tls exports none, by its message.
func Classify(err error) string {
	if err == nil {
		return ""
	}
	if _, ok := errors.AsType[*SubjectError](err); ok {
		return ReasonSubjectNotAllowed
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return ReasonBadClientCert
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return ReasonBadClientCert
	}
	if _, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return ReasonBadClientCert
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "client didn't provide a certificate"):
		return ReasonNoClientCert
	case strings.Contains(msg, "tls: client certificate"),
		strings.Contains(msg, "tls: failed to parse client certificate"),
		strings.Contains(msg, "tls: client sent certificate"),
		strings.Contains(msg, "tls: invalid signature by the client certificate"):
		return ReasonBadClientCert
	}
	return ReasonOther
}

// initListener creates listener's series at zero, so that rates and alerts
// see them before the first failure.
func (m *Metrics) initListener(listener string) {
	if m == nil {
		return
	}
	for _, r := range reasons {
		m.failures.WithLabelValues(listener, r)
	}
	m.reloads.WithLabelValues(listener, ResultOK)
	m.reloads.WithLabelValues(listener, ResultError)
}

func (m *Metrics) reloaded(listener string, err error) {
	if m == nil {
		return
	}
	result := ResultOK
	if err != nil {
		result = ResultError
	}
	m.reloads.WithLabelValues(listener, result).Inc()
}

func (m *Metrics) setExpiry(listener string, notAfter time.Time) {
	if m != nil {
		m.expiry.WithLabelValues(listener).Set(float64(notAfter.Unix()))
	}
}
