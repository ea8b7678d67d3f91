package sip

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/config"
)

// Trunk health: one goroutine per target of each trunk with pings on sends
// OPTIONS every health.interval from the trunk's listener, as its calls
// leave. Failures pings in a row without an alive answer take the target
// down; Successes alive answers in a row bring it back. Routing skips a
// down target while another target of the trunk is up (outbound.place).
//
// The state is keyed by trunk name and target URI as configured, not by
// the trunk table, so a table built again from a reloaded configuration
// finds it: sync takes any trunk list and keeps the state of the targets
// it still names.

// targetKey names a target across trunk tables.
type targetKey struct{ trunk, target string }

// pingResult is the outcome of one OPTIONS ping.
type pingResult struct {
	at   time.Time
	code int           // the final status (of a call's INVITE: the last status); 0: none
	rtt  time.Duration // from sending to the final status
	err  string        // with code 0: pingTimeout or pingTransport
}

// Why a ping or a call's INVITE got no status: the words of the
// tonewall_trunk_pings_total result label and of /v1/trunks.
const (
	pingTimeout   = "timeout"   // none within health.timeout (a call: invite_timeout)
	pingTransport = "transport" // could not be sent
)

// alive reports whether a ping's answer shows the target serving: any
// status but 408 (a proxy in front of it got no answer) and 503 (out of
// service, draining or overloaded). 404, 405, 403 and even 500 count as
// alive, as in most dispatchers: carriers answer OPTIONS with them, and the
// peer's SIP stack answered. A call's INVITE that got only a provisional
// shows the same.
func (r pingResult) alive() bool {
	return r.code >= 100 && r.code != 408 && r.code != 503
}

// result is the ping's label on tonewall_trunk_pings_total.
func (r pingResult) result() string {
	switch {
	case r.alive():
		return "alive"
	case r.code != 0:
		return "unavailable"
	}
	return r.err
}

// targetState is what the pings tell of one target.
type targetState struct {
	up     bool
	streak int       // pings in a row that disagree with up
	since  time.Time // when up last changed, or when tonewall began watching the target
	last   pingResult
}

// pinger is the goroutine pinging one target.
type pinger struct {
	t    *trunk
	i    int // the target's index in t.targets
	stop context.CancelFunc
}

// health holds every watched target's state and its pinger.
type health struct {
	ping func(ctx context.Context, t *trunk, i int) pingResult
	m    *healthMetrics
	log  *zap.Logger
	wg   sync.WaitGroup

	mu      sync.Mutex
	ctx     context.Context // pingers' parent; nil until start
	targets map[targetKey]*targetState
	running map[targetKey]*pinger
}

func newHealth(ping func(context.Context, *trunk, int) pingResult, m *healthMetrics, log *zap.Logger) *health {
	return &health{ping: ping, m: m, log: log, targets: map[targetKey]*targetState{}, running: map[targetKey]*pinger{}}
}

// start runs pingers for the trunks until ctx ends; wait then waits for them.
func (h *health) start(ctx context.Context, trunks []*trunk) {
	h.mu.Lock()
	h.ctx = ctx
	h.mu.Unlock()
	h.sync(trunks)
}

// wait returns once every pinger has stopped (after start's ctx ended).
func (h *health) wait() { h.wg.Wait() }

// sync makes the pingers match trunks: a target newly named (or whose trunk
// changed) gets a fresh pinger, and keeps its state if it had one; a target
// no longer named, or whose trunk turned pings off, loses its pinger and
// its state, and so counts as up. A reload hands the new trunk list here.
func (h *health) sync(trunks []*trunk) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil {
		return
	}
	want := map[targetKey]bool{}
	for _, t := range trunks {
		if !t.cfg.Health.pings() {
			continue
		}
		for i, uri := range t.cfg.Targets {
			k := targetKey{t.cfg.Name, uri}
			want[k] = true
			if p := h.running[k]; p != nil && p.t == t {
				continue
			}
			h.launch(k, t, i)
		}
	}
	for k, p := range h.running {
		if !want[k] {
			p.stop()
			delete(h.running, k)
			delete(h.targets, k)
			h.m.forget(k)
		}
	}
}

// launch starts the pinger of k, stopping the one it replaces. h.mu is held.
func (h *health) launch(k targetKey, t *trunk, i int) {
	if old := h.running[k]; old != nil {
		old.stop()
	}
	if h.targets[k] == nil {
		h.targets[k] = &targetState{up: true, since: time.Now()}
		h.m.setUp(k, true)
	}
	ctx, stop := context.WithCancel(h.ctx)
	p := &pinger{t: t, i: i, stop: stop}
	h.running[k] = p
	h.wg.Add(1)
	go h.loop(ctx, k, p)
}

// loop pings one target at once, then every interval, until ctx ends.
func (h *health) loop(ctx context.Context, k targetKey, p *pinger) {
	defer h.wg.Done()
	tick := time.NewTicker(p.t.cfg.Health.Interval)
	defer tick.Stop()
	for {
		r := h.ping(ctx, p.t, p.i)
		if ctx.Err() != nil {
			return
		}
		h.record(k, p, r)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// record counts a ping and moves the target up or down when its streak
// reaches the trunk's threshold. A result from a pinger since replaced is
// dropped.
func (h *health) record(k targetKey, p *pinger, r pingResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.targets[k]
	if h.running[k] != p || st == nil {
		return
	}
	h.m.pinged(k, r.result())
	st.last = r
	h.move(k, p.t.cfg.Health, st, r, byPing)
}

// What a target's state was moved by: the label of its log line.
const (
	byPing = "ping"
	byCall = "call"
)

// observe counts what a call's INVITE showed of target i of t as a ping
// would count it: a target that stops answering calls goes down without
// waiting for its next pings, and one that answers them keeps its streak
// of failed pings at zero. A target that is not pinged is not watched,
// since nothing would bring it back.
func (h *health) observe(t *trunk, i int, r pingResult) {
	k := targetKey{t.cfg.Name, t.cfg.Targets[i]}
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, st := h.running[k], h.targets[k]; p != nil && st != nil {
		h.move(k, p.t.cfg.Health, st, r, byCall)
	}
}

// move counts r toward turning the target up or down, and turns it when
// the streak reaches the threshold of cfg. h.mu is held.
func (h *health) move(k targetKey, cfg Health, st *targetState, r pingResult, by string) {
	if r.alive() == st.up {
		st.streak = 0
		return
	}
	st.streak++
	need := cfg.Failures
	if !st.up {
		need = cfg.Successes
	}
	if st.streak < need {
		return
	}
	st.up, st.streak, st.since = !st.up, 0, r.at
	h.m.setUp(k, st.up)
	h.logChange(k, st, r, by)
}

func (h *health) logChange(k targetKey, st *targetState, r pingResult, by string) {
	fields := []zap.Field{zap.String("trunk", k.trunk), zap.String("target", k.target), zap.Int("code", r.code), zap.String("by", by)}
	if st.up {
		h.log.Info("trunk target up", append(fields, zap.Duration("rtt", r.rtt))...)
		return
	}
	h.log.Warn("trunk target down", append(fields, zap.String("result", r.result()))...)
}

// up reports whether routing may send to a target: true unless its pings
// took it down (a target not pinged is always up).
func (h *health) up(trunk, target string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.targets[targetKey{trunk, target}]
	return st == nil || st.up
}

// anyUp reports whether some target of t is up.
func (h *health) anyUp(t *trunk) bool {
	for _, uri := range t.cfg.Targets {
		if h.up(t.cfg.Name, uri) {
			return true
		}
	}
	return false
}

// TargetHealth is what the pings tell of one target, for the API.
type TargetHealth struct {
	URI    string     `json:"uri"`
	Pinged bool       `json:"pinged"` // false: its trunk's pings are off, and it counts as up
	Up     bool       `json:"up"`
	Since  *time.Time `json:"since,omitempty"`     // when it last went up or down, or when its pings began
	Last   *PingInfo  `json:"last_ping,omitempty"` // absent before the first ping's outcome
}

// PingInfo is the outcome of a target's last ping.
type PingInfo struct {
	At     time.Time `json:"at"`
	Result string    `json:"result"`           // alive | unavailable (408, 503) | timeout | transport
	Code   int       `json:"code,omitempty"`   // the final status, when one came
	RTTMs  float64   `json:"rtt_ms,omitempty"` // from sending to the final status, when one came
}

// snapshot is the health of t's targets in order.
func (h *health) snapshot(t *trunk) []TargetHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]TargetHealth, 0, len(t.cfg.Targets))
	for _, uri := range t.cfg.Targets {
		th := TargetHealth{URI: uri, Up: true}
		if st := h.targets[targetKey{t.cfg.Name, uri}]; st != nil {
			since := st.since
			th.Pinged, th.Up, th.Since = true, st.up, &since
			if !st.last.at.IsZero() {
				th.Last = &PingInfo{At: st.last.at, Result: st.last.result(), Code: st.last.code,
					RTTMs: float64(st.last.rtt.Microseconds()) / 1000}
			}
		}
		out = append(out, th)
	}
	return out
}

// validate fills the defaults of sip.health and checks it, or a trunk's
// health once inherit has filled it; p is its YAML path.
func (h *Health) validate(p string) error {
	if h.Ping == nil {
		on := true
		h.Ping = &on
	}
	config.Default(&h.Interval, 30*time.Second)
	config.Default(&h.Timeout, 2*time.Second)
	config.Default(&h.Failures, 3)
	config.Default(&h.Successes, 1)
	switch {
	case h.Interval < 0:
		return config.Errorf(p+".interval", "must be a positive duration such as 30s, not %v", h.Interval)
	case h.Timeout < 0 || h.Timeout > h.Interval:
		return config.Errorf(p+".timeout", "must be positive and at most the interval (%v), not %v", h.Interval, h.Timeout)
	case h.Failures < 0:
		return config.Errorf(p+".failures", "must be positive, not %d", h.Failures)
	case h.Successes < 0:
		return config.Errorf(p+".successes", "must be positive, not %d", h.Successes)
	}
	return nil
}

// pings reports whether a validated health pings (a configuration that
// skipped Validate pings nothing).
func (h Health) pings() bool { return h.Ping != nil && *h.Ping && h.Interval > 0 && h.Timeout > 0 }

// inherit fills the keys a trunk's health leaves out from sip.health.
func (h *Health) inherit(from Health) {
	if h.Ping == nil {
		h.Ping = from.Ping
	}
	config.Default(&h.Interval, from.Interval)
	config.Default(&h.Timeout, from.Timeout)
	config.Default(&h.Failures, from.Failures)
	config.Default(&h.Successes, from.Successes)
}
