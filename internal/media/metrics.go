package media

import "github.com/prometheus/client_golang/prometheus"

// Collector exposes the relay's packet counts, read from Manager.Stats at
// scrape time: the relay itself only adds to its sessions' atomic counters.
type Collector struct {
	m                      *Manager
	packets, dropped, srtp *prometheus.Desc
}

// NewCollector makes the collector of m's series.
func NewCollector(m *Manager) *Collector {
	return &Collector{m: m,
		packets: prometheus.NewDesc("tonewall_rtp_packets_total",
			"RTP and RTCP packets relayed, by leg: in, accepted from the leg; out, sent to it.",
			[]string{"leg", "direction"}, nil),
		dropped: prometheus.NewDesc("tonewall_rtp_dropped_total",
			"RTP and RTCP packets dropped, by the leg they came from and reason: wrong_source (not the signalled or latched address), "+
				"malformed (not RTP/RTCP), too_large (a datagram over 1564 bytes), auth_failed (SRTP/SRTCP authentication), replayed (SRTP replay), "+
				"other (no route yet, unknown payload type, on hold, no keys, no destination).",
			[]string{"leg", "reason"}, nil),
		srtp: prometheus.NewDesc("tonewall_srtp_auth_failures_total",
			"SRTP and SRTCP packets that failed authentication, by the leg they came from.",
			[]string{"leg"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.packets
	ch <- c.dropped
	ch <- c.srtp
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	stats := c.m.Stats()
	for l, st := range stats {
		leg := Side(l).String()
		c.counter(ch, c.packets, st.Received, leg, "in")
		c.counter(ch, c.packets, st.Sent, leg, "out")
		c.counter(ch, c.dropped, st.WrongSource, leg, "wrong_source")
		c.counter(ch, c.dropped, st.Malformed, leg, "malformed")
		c.counter(ch, c.dropped, st.TooLarge, leg, "too_large")
		c.counter(ch, c.dropped, st.AuthFailed, leg, "auth_failed")
		c.counter(ch, c.dropped, st.Replayed, leg, "replayed")
		c.counter(ch, c.dropped, st.Dropped, leg, "other")
		c.counter(ch, c.srtp, st.AuthFailed, leg)
	}
}

func (c *Collector) counter(ch chan<- prometheus.Metric, d *prometheus.Desc, n uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(n), labels...)
}
