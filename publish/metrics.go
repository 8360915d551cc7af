package publish

import (
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
)

// metrics are the producer's Prometheus metrics. They are registered with
// the registerer given to New; a second Producer on the same registerer
// fails New with the registration error.
type metrics struct {
	latency      prometheus.Histogram
	publishErrs  *prometheus.CounterVec
	brokerErrs   *prometheus.CounterVec
	connected    prometheus.Gauge
	bufRecords   prometheus.GaugeFunc
	bufBytes     prometheus.GaugeFunc
	transactions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, buffered func() (records, bytes int64)) (*metrics, error) {
	m := &metrics{
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gateway_kafka_produce_latency_seconds",
			Help:    "Time for one publish call, from the first record handed to the client to the last broker acknowledgement or failure.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		publishErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_kafka_publish_errors_total",
			Help: "Failed publish calls by reason (not_enough_replicas, timeout, broker_unavailable, ...).",
		}, []string{"reason"}),
		brokerErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_kafka_broker_errors_total",
			Help: "Errors brokers answered to produce batches by Kafka error name (NOT_ENOUGH_REPLICAS, ...), including those franz-go retried, and TRANSPORT for failed reads/writes on a broker connection.",
		}, []string{"code"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_kafka_broker_connected",
			Help: "Open connections to Kafka brokers.",
		}),
		bufRecords: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gateway_kafka_buffered_records",
			Help: "Records buffered in the Kafka producers, not yet acknowledged.",
		}, func() float64 { r, _ := buffered(); return float64(r) }),
		bufBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gateway_kafka_buffered_bytes",
			Help: "Bytes of records buffered in the Kafka producers, not yet acknowledged.",
		}, func() float64 { _, b := buffered(); return float64(b) }),
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_kafka_transactions_total",
			Help: "Atomic publishes by result (committed, aborted).",
		}, []string{"result"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.latency, m.publishErrs, m.brokerErrs, m.connected, m.bufRecords, m.bufBytes, m.transactions} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// hooks feeds the connection gauge and the transport error counter from
// franz-go. Hooks run on client goroutines and must not block: they only
// touch Prometheus atomics.
type hooks struct{ m *metrics }

var (
	_ kgo.HookBrokerConnect    = hooks{}
	_ kgo.HookBrokerDisconnect = hooks{}
	_ kgo.HookBrokerE2E        = hooks{}
)

func (h hooks) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil {
		h.m.connected.Inc()
	}
}

func (h hooks) OnBrokerDisconnect(kgo.BrokerMetadata, net.Conn) { h.m.connected.Dec() }

func (h hooks) OnBrokerE2E(_ kgo.BrokerMetadata, _ int16, e2e kgo.BrokerE2E) {
	if e2e.Err() != nil {
		h.m.brokerErrs.WithLabelValues("TRANSPORT").Inc()
	}
}
