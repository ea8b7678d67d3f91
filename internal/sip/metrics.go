package sip

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the B2BUA's own series. Labels carry names and reasons,
// never an address, a user or a digit.
type metrics struct {
	dropped *prometheus.CounterVec // requests and datagrams dropped at the edge, by reason
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		dropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_sip_dropped_total",
			Help: "SIP messages dropped without an answer, by reason.",
		}, []string{"reason"}),
	}
}
