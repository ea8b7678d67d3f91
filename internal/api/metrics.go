package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Gauges is what /metrics reads from the rest of tonewall at scrape time.
// Metrics carry counts and states, never a digit.
type Gauges interface {
	ActiveCalls() int
	PortsInUse() int
	CaptureStates() map[string]int // captures ended, by terminal state, since start
}

// gaugeCollector reads Gauges at every scrape.
type gaugeCollector struct {
	g                      Gauges
	calls, ports, captures *prometheus.Desc
}

func newGaugeCollector(g Gauges) *gaugeCollector {
	return &gaugeCollector{g: g,
		calls:    prometheus.NewDesc("tonewall_calls_active", "Calls in progress.", nil, nil),
		ports:    prometheus.NewDesc("tonewall_rtp_ports_in_use", "RTP/RTCP ports held by calls.", nil, nil),
		captures: prometheus.NewDesc("tonewall_captures_total", "Captures ended, by state.", []string{"state"}, nil),
	}
}

func (c *gaugeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.calls
	ch <- c.ports
	ch <- c.captures
}

func (c *gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.calls, prometheus.GaugeValue, float64(c.g.ActiveCalls()))
	ch <- prometheus.MustNewConstMetric(c.ports, prometheus.GaugeValue, float64(c.g.PortsInUse()))
	for state, n := range c.g.CaptureStates() {
		ch <- prometheus.MustNewConstMetric(c.captures, prometheus.CounterValue, float64(n), state)
	}
}

// metricsHandler serves tonewall's own registry (no global state): the
// gauges read from g at scrape time, the Go runtime's, and whatever the
// other parts registered in reg.
func metricsHandler(g Gauges, reg *prometheus.Registry) http.Handler {
	reg.MustRegister(newGaugeCollector(g), collectors.NewGoCollector())
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
