package sip

import (
	"strconv"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/tonewall/tonewall/internal/cdr"
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

// Traffic series: requests, responses and calls. Every label value comes
// from a fixed set (methodLabel, codeLabel, call results) or from the
// configuration (trunk names), so no peer can mint a series.

// Directions of a SIP message, the label of the request and response series.
const (
	dirIn  = "in"  // received by tonewall
	dirOut = "out" // sent by tonewall
)

// Results of a call, the label of tonewall_calls_total: the words of the
// call's detail record.
const (
	callAnswered  = cdr.Answered  // a 2xx went to the caller
	callFailed    = cdr.Failed    // a final failure went to the caller after routing began
	callCancelled = cdr.Cancelled // the caller cancelled before an answer
	callRefused   = cdr.Refused   // refused before an INVITE left: trunk, auth, route, cap, drain, SDP, RTP ports
)

// noTrunk stands for a trunk not known, e.g. of an INVITE from a stranger.
const noTrunk = "none"

// traffic counts what passes through the B2BUA.
type traffic struct {
	requests  *prometheus.CounterVec   // method, direction
	responses *prometheus.CounterVec   // method, code, direction
	calls     *prometheus.CounterVec   // from_trunk, to_trunk, result, code
	setup     *prometheus.HistogramVec // to_trunk: INVITE received to 2xx sent
}

func newTraffic(reg prometheus.Registerer) *traffic {
	f := promauto.With(reg)
	counters := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	return &traffic{
		requests: counters("tonewall_sip_requests_total",
			"SIP requests received (in, reaching a handler) and sent (out), by method; unknown methods count as other.",
			"method", "direction"),
		responses: counters("tonewall_sip_responses_total",
			"SIP responses sent (out) and received (in), by the request's method and code (exact for common codes, else the class).",
			"method", "code", "direction"),
		calls: counters("tonewall_calls_total",
			"Calls (initial INVITEs) by trunks, result (answered, failed, cancelled, refused) and the final code sent to the caller.",
			"from_trunk", "to_trunk", "result", "code"),
		setup: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tonewall_call_setup_seconds",
			Help:    "Time from a caller's INVITE to tonewall's 2xx to it, by the trunk called.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 60},
		}, []string{"to_trunk"}),
	}
}

func (t *traffic) request(method, dir string) {
	t.requests.WithLabelValues(methodLabel(method), dir).Inc()
}

func (t *traffic) response(method string, code int, dir string) {
	t.responses.WithLabelValues(methodLabel(method), codeLabel(code), dir).Inc()
}

// call counts a call's setup outcome; code is the final status sent to the caller.
func (t *traffic) call(from, to, result string, code int) {
	t.calls.WithLabelValues(trunkLabel(from), trunkLabel(to), result, codeLabel(code)).Inc()
}

func trunkLabel(name string) string {
	if name == "" {
		return noTrunk
	}
	return name
}

// methods are the request methods counted by name; any other is "other".
var methods = map[string]bool{
	"INVITE": true, "ACK": true, "BYE": true, "CANCEL": true, "OPTIONS": true, "INFO": true,
	"UPDATE": true, "PRACK": true, "REFER": true, "REGISTER": true, "SUBSCRIBE": true,
	"NOTIFY": true, "MESSAGE": true, "PUBLISH": true,
}

func methodLabel(m string) string {
	if methods[m] {
		return m
	}
	return "other"
}

// codes are the status codes counted exactly; any other counts as its
// class ("4xx"), and one outside 100-699 as "other".
var codes = map[int]string{}

func init() {
	for _, c := range []int{100, 180, 181, 182, 183, 200, 202, 401, 403, 404, 405, 407, 408, 415, 420,
		480, 481, 482, 483, 484, 486, 487, 488, 491, 500, 501, 502, 503, 504, 600, 603, 604, 606} {
		codes[c] = strconv.Itoa(c)
	}
}

func codeLabel(code int) string {
	if s, ok := codes[code]; ok {
		return s
	}
	if code < 100 || code > 699 {
		return "other"
	}
	return string(rune('0'+code/100)) + "xx"
}

// countedTx is a server transaction whose responses are counted.
type countedTx struct {
	sip.ServerTransaction
	t *traffic
}

func (c *countedTx) Respond(res *sip.Response) error {
	err := c.ServerTransaction.Respond(res)
	if err == nil {
		c.t.response(cseqMethod(res), res.StatusCode, dirOut)
	}
	return err
}

// sipgoTx is sipgo's transaction under tx, which withRecovery wraps.
func sipgoTx(tx sip.ServerTransaction) (*sip.ServerTx, bool) {
	if c, ok := tx.(*countedTx); ok {
		tx = c.ServerTransaction
	}
	stx, ok := tx.(*sip.ServerTx)
	return stx, ok
}

// cseqMethod is the method a response answers, or "" when it has no CSeq
// (a 400 to a request without one).
func cseqMethod(res *sip.Response) string {
	if cs := res.CSeq(); cs != nil {
		return string(cs.MethodName)
	}
	return ""
}

// countCall counts an initial INVITE that ended before a Call was made;
// t is its trunk, nil when not found.
func (s *Server) countCall(t *trunk, result string, code int) {
	from, to := "", ""
	if t != nil {
		from = t.cfg.Name
		if t.route != nil {
			to = t.route.to.cfg.Name
		}
	}
	s.traffic.call(from, to, result, code)
}

// count counts the call's setup outcome: once, when the caller got its final answer.
func (c *Call) count(result string, code int) {
	c.srv.traffic.call(c.a.trunk.cfg.Name, c.b.trunk.cfg.Name, result, code)
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
			Help: "Whether a trunk's target answers its OPTIONS pings and calls (1) or routing skips it (0).",
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
