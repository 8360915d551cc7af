package auth

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the authentication metrics of every door; the door (the
// connector name given to the middleware or interceptor) is a label. A nil
// *Metrics records nothing. Safe for concurrent use.
type Metrics struct {
	failures *prometheus.CounterVec
	success  *prometheus.CounterVec
	jwksErrs prometheus.Counter
}

// NewMetrics creates the authentication metrics and registers them with
// reg. It panics if they are already registered with reg (a wiring bug):
// create one Metrics and share it between doors.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_failures_total",
			Help: "Requests refused by authentication, by door and reason (missing, invalid, expired, insufficient_scope).",
		}, []string{"door", "reason"}),
		success: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_success_total",
			Help: "Requests authenticated and authorised, by door and credential kind (api_key, jwt).",
		}, []string{"door", "kind"}),
		jwksErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gateway_auth_jwks_refresh_errors_total",
			Help: "JWKS loads (start, periodic, unknown kid) that failed; the previous keys stay in use.",
		}),
	}
	reg.MustRegister(m.failures, m.success, m.jwksErrs)
	return m
}

func (m *Metrics) failure(door string, k Kind) {
	if m != nil {
		m.failures.WithLabelValues(door, k.String()).Inc()
	}
}

func (m *Metrics) succeeded(door, kind string) {
	if m != nil {
		m.success.WithLabelValues(door, kind).Inc()
	}
}

func (m *Metrics) jwksError() {
	if m != nil {
		m.jwksErrs.Inc()
	}
}
