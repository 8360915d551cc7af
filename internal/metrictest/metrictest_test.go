package metrictest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestValueSumsTheSeriesThatCarryTheLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total"}, []string{"door", "reason"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"})
	reg.MustRegister(c, g)
	c.WithLabelValues("api", "missing").Add(2)
	c.WithLabelValues("api", "expired").Add(3)
	c.WithLabelValues("rest", "missing").Add(5)
	g.Set(7)
	for _, tt := range []struct {
		name   string
		metric string
		labels map[string]string
		want   float64
	}{
		{"one series named in full", "c_total", map[string]string{"door": "api", "reason": "expired"}, 3},
		{"the series sharing a label", "c_total", map[string]string{"door": "api"}, 5},
		{"every series without labels", "c_total", nil, 10},
		{"no series with the labels", "c_total", map[string]string{"door": "grpc"}, 0},
		{"an unlabelled gauge", "g", nil, 7},
		{"a metric not registered", "nope", nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Value(t, reg, tt.metric, tt.labels); got != tt.want {
				t.Errorf("Value = %v, want %v", got, tt.want)
			}
		})
	}
}
