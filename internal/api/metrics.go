package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
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
// other parts registered in reg. Uncompressed, so that the egress check
// reads what goes out.
func metricsHandler(g Gauges, reg *prometheus.Registry) http.Handler {
	reg.MustRegister(newGaugeCollector(g), collectors.NewGoCollector())
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	// Series hold tonewall's own counts and measurements, never a typed
	// digit, and a float such as 0.30000000000000004 passes Luhn one time
	// in ten: the egress check would fail scrapes at random. /metrics
	// bypasses it.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(streaming(w), r) })
}

// edgeMetrics are the API's own series: what its bounds let in and what
// they kept out. No label holds an address, a key or a digit.
type edgeMetrics struct {
	connsOpen      prometheus.Gauge
	connsRefused   prometheus.Counter
	streamsOpen    prometheus.Gauge
	streamsRefused *prometheus.CounterVec // reason: per_key, total
	streamsDropped *prometheus.CounterVec // reason: write_timeout, write_error, egress_blocked, key_revoked
	egressBlocked  prometheus.Counter
}

func newEdgeMetrics(reg *prometheus.Registry) *edgeMetrics {
	var r prometheus.Registerer // nil: series not registered anywhere
	if reg != nil {
		r = reg
	}
	f := promauto.With(r)
	return &edgeMetrics{
		connsOpen: f.NewGauge(prometheus.GaugeOpts{Name: "tonewall_api_connections_open",
			Help: "Connections to the control API open now."}),
		connsRefused: f.NewCounter(prometheus.CounterOpts{Name: "tonewall_api_connections_refused_total",
			Help: "Connections to the control API closed at once because api.max_connections were open."}),
		streamsOpen: f.NewGauge(prometheus.GaugeOpts{Name: "tonewall_api_event_streams_open",
			Help: "GET /v1/events streams open now."}),
		streamsRefused: f.NewCounterVec(prometheus.CounterOpts{Name: "tonewall_api_event_streams_refused_total",
			Help: "GET /v1/events refused: per_key (429, api.max_event_streams_per_key) or total (503, api.max_event_streams)."}, []string{"reason"}),
		streamsDropped: f.NewCounterVec(prometheus.CounterOpts{Name: "tonewall_api_event_streams_dropped_total",
			Help: "Event streams tonewall ended: write_timeout (the client stopped reading), write_error, egress_blocked, key_revoked (a reload removed its key)."}, []string{"reason"}),
		egressBlocked: f.NewCounter(prometheus.CounterOpts{Name: "tonewall_api_egress_blocked_total",
			Help: "API answers and events not sent because they held what looks like a card number."}),
	}
}
