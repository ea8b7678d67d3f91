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

// metrics are the capture service's own series. Labels carry kinds and
// paths, never a call, a capture or a digit.
type metrics struct {
	leaks   *prometheus.CounterVec
	blocked *prometheus.CounterVec
	// Resolved once: the canary counts on the media goroutine.
	leakInBand, leakRFC4733 prometheus.Counter
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
