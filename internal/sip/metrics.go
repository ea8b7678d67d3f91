package sip

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the B2BUA's own series. Labels carry names and reasons,
// never an address, a user or a digit.
type metrics struct {
	dropped       *prometheus.CounterVec // requests and datagrams dropped at the edge, by reason
	listenerUp    *prometheus.GaugeVec   // by listener: 1 accepting, 0 failing to accept
	acceptErrors  *prometheus.CounterVec // by listener
	connsOpen     *prometheus.GaugeVec   // TCP/TLS connections, by listener
	connRefused   *prometheus.CounterVec // connections closed unread, by reason
	connTimeouts  *prometheus.CounterVec // connections closed for a deadline, by kind
	tlsFailures   *prometheus.CounterVec // TLS handshakes failed, by listener
	sourceEvents  *prometheus.CounterVec // per-source rate limiter: blocked, untracked_table_full
	admission     *prometheus.CounterVec // calls refused by a cap, by trunk and reason
	egressBlocked prometheus.Counter     // messages toward the contact center not sent: they held a card-like number
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		dropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_sip_dropped_total",
			Help: "SIP messages dropped without an answer, by reason.",
		}, []string{"reason"}),
		listenerUp: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tonewall_sip_listener_up",
			Help: "Whether a SIP listener is bound and accepting (1) or not (0).",
		}, []string{"listener"}),
		acceptErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_sip_accept_errors_total",
			Help: "Failed accepts on a TCP/TLS listener (retried with backoff).",
		}, []string{"listener"}),
		connsOpen: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tonewall_sip_connections_open",
			Help: "Accepted TCP/TLS connections open.",
		}, []string{"listener"}),
		connRefused: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_sip_connections_refused_total",
			Help: "TCP/TLS connections closed unread, by reason.",
		}, []string{"reason"}),
		connTimeouts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_sip_connection_timeouts_total",
			Help: "Connections closed by a deadline: idle (no dialog, no traffic) or message (partly received).",
		}, []string{"kind"}),
		tlsFailures: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_tls_handshake_failures_total",
			Help: "TLS handshakes that failed or timed out, by listener.",
		}, []string{"listener"}),
		sourceEvents: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_sip_source_limit_events_total",
			Help: "Per-source rate limiter events: a source blocked, or let through untracked because the table is full.",
		}, []string{"event"}),
		admission: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_sip_admission_refused_total",
			Help: "New calls refused 503 by a cap (calls_limit, trunk_calls_limit, trunk_rate_limit), by the trunk they came from.",
		}, []string{"trunk", "reason"}),
		egressBlocked: f.NewCounter(prometheus.CounterOpts{
			Name: "tonewall_sip_egress_blocked_total",
			Help: "SIP messages toward the contact center not sent because they held what looks like a card number.",
		}),
	}
}

// healthMetrics are the series of trunk health. Their target label is the
// target's URI as configured: the trunk's own configuration, a bounded set,
// never a caller's address.
type healthMetrics struct {
	up    *prometheus.GaugeVec   // by trunk and target: 1 up, 0 down
	pings *prometheus.CounterVec // by trunk, target and result
}

func newHealthMetrics(reg prometheus.Registerer) *healthMetrics {
	f := promauto.With(reg)
	return &healthMetrics{
		up: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tonewall_trunk_target_up",
			Help: "Whether a trunk's target answers its OPTIONS pings (1) or routing skips it (0).",
		}, []string{"trunk", "target"}),
		pings: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tonewall_trunk_pings_total",
			Help: "OPTIONS pings of trunk targets, by result: alive, unavailable (408 or 503), timeout, transport.",
		}, []string{"trunk", "target", "result"}),
	}
}

func (m *healthMetrics) setUp(k targetKey, up bool) {
	v := 0.0
	if up {
		v = 1
	}
	m.up.WithLabelValues(k.trunk, k.target).Set(v)
}

func (m *healthMetrics) pinged(k targetKey, result string) {
	m.pings.WithLabelValues(k.trunk, k.target, result).Inc()
}

// forget drops the series of a target no longer pinged.
func (m *healthMetrics) forget(k targetKey) {
	m.up.DeleteLabelValues(k.trunk, k.target)
	m.pings.DeletePartialMatch(prometheus.Labels{"trunk": k.trunk, "target": k.target})
}
