package capture

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Kinds of mask leak, the label of tonewall_mask_leaks_total.
const (
	leakInBand  = "inband"  // a key tone in the audio a window forwarded
	leakRFC4733 = "rfc4733" // a telephone-event forwarded inside a window
)

// Paths of the egress check, the label of tonewall_capture_egress_blocked_total.
const (
	pathWebhook = "webhook"
	pathSIPInfo = "sip_info"
)

// Results of a webhook attempt, the label of
// tonewall_webhook_request_duration_seconds.
const (
	webhookOK     = "ok"     // answered 2xx
	webhookStatus = "status" // answered, but not 2xx
	webhookError  = "error"  // no answer: connection, TLS, timeout
)

// metrics are the capture service's own series. Labels carry kinds,
// paths, states and results, never a call, a capture or a digit.
type metrics struct {
	leaks      *prometheus.CounterVec
	blocked    *prometheus.CounterVec
	suppressed *prometheus.CounterVec   // keys kept from the contact center, by method
	duration   *prometheus.HistogramVec // captures ended, by state
	webhook    *prometheus.HistogramVec // webhook attempts, by result
	// Resolved once: the canary and the stage count on the media goroutine.
	leakInBand, leakRFC4733 prometheus.Counter
	suppInBand, suppRFC4733 prometheus.Counter
	suppINFO                prometheus.Counter
}

// newMetrics registers the series with reg; a nil reg registers nothing.
func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		leaks: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_mask_leaks_total",
			Help: "Keys found by the leak canary in what capture windows forwarded toward the contact center, by kind (inband, rfc4733).",
		}, []string{"kind"}),
		blocked: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_capture_egress_blocked_total",
			Help: "Capture results not sent because they held a card number, by path (webhook, sip_info).",
		}, []string{"path"}),
	}
	m.leakInBand, m.leakRFC4733 = m.leaks.WithLabelValues(leakInBand), m.leaks.WithLabelValues(leakRFC4733)
	m.addTimings(f)
	for _, p := range []string{pathWebhook, pathSIPInfo} {
		m.blocked.WithLabelValues(p) // present at zero, so alerts see the series
	}
	return m
}

func (m *metrics) leak(kind string) prometheus.Counter {
	if kind == leakRFC4733 {
		return m.leakRFC4733
	}
	return m.leakInBand
}

// addTimings registers the suppression counts and the capture and webhook
// durations.
func (m *metrics) addTimings(f promauto.Factory) {
	m.suppressed = f.NewCounterVec(prometheus.CounterOpts{
		Name: "tonewall_dtmf_suppressed_total",
		Help: "Keys pressed inside capture windows and kept from the contact center, by method (rfc4733, inband, info). Counts keys, never which.",
	}, []string{"method"})
	m.suppRFC4733, m.suppInBand = m.suppressed.WithLabelValues("rfc4733"), m.suppressed.WithLabelValues("inband")
	m.suppINFO = m.suppressed.WithLabelValues("info")
	m.duration = f.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tonewall_capture_duration_seconds",
		Help:    "Time from a capture's start to its end, by terminal state.",
		Buckets: []float64{1, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300},
	}, []string{"state"})
	m.webhook = f.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tonewall_webhook_request_duration_seconds",
		Help:    "Capture result webhook attempts, by result: ok (2xx), status (another answer), error (no answer).",
		Buckets: prometheus.DefBuckets,
	}, []string{"result"})
}
