package auth

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the authentication metrics of every door; the door (the
// connector name given to the middleware or interceptor) is a label. A nil
// *Metrics records nothing. Safe for concurrent use.
type Metrics struct {
	failures *prometheus.CounterVec
	success  *prometheus.CounterVec
	jwksErrs prometheus.Counter
	reloads  *prometheus.CounterVec
	apiKeys  prometheus.Gauge
	stale    prometheus.Gauge
}

// Results of an API key file reload, the `result` label of
// gateway_auth_api_keys_reloads_total.
const (
	ResultOK    = "ok"
	ResultError = "error"
)

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
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_auth_api_keys_reloads_total",
			Help: "Reloads of an API key file after its content changed, by result (ok, error: the previous keys stay in use).",
		}, []string{"result"}),
		apiKeys: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_auth_api_keys",
			Help: "API keys accepted now, summed over the doors (a key file shared by two doors counts twice).",
		}),
		stale: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_auth_api_keys_files_stale",
			Help: "API key files whose current content does not load, so that older keys are still in use; 0 once every file loads again.",
		}),
	}
	// Both results exist from the start, so rates and alerts see them
	// before the first reload.
	m.reloads.WithLabelValues(ResultOK)
	m.reloads.WithLabelValues(ResultError)
	reg.MustRegister(m.failures, m.success, m.jwksErrs, m.reloads, m.apiKeys, m.stale)
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

func (m *Metrics) apiKeysReloaded(err error) {
	if m == nil {
		return
	}
	result := ResultOK
	if err != nil {
		result = ResultError
	}
	m.reloads.WithLabelValues(result).Inc()
}

// addAPIKeys changes the number of API keys accepted by delta.
func (m *Metrics) addAPIKeys(delta int) {
	if m != nil {
		m.apiKeys.Add(float64(delta))
	}
}

// staleKeyFile counts a key file whose content stopped (true) or started
// again (false) to load.
func (m *Metrics) staleKeyFile(stale bool) {
	if m == nil {
		return
	}
	if stale {
		m.stale.Inc()
	} else {
		m.stale.Dec()
	}
}
