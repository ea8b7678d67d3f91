package sip

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// admission caps calls before any RTP port is taken or any INVITE leaves:
// calls in all, calls per trunk (a call counts on both its trunks) and new
// calls per second per trunk. A flood on one trunk is refused at that trunk's
// caps and leaves the other trunks their room. Loads are kept by trunk name,
// so that a reload, which makes new trunks, keeps counting the calls
// admitted before it.
type admission struct {
	mu      sync.Mutex
	max     int // all trunks
	calls   int
	load    map[string]*trunkLoad  // by trunk name
	refused *prometheus.CounterVec // by trunk and reason
}

type trunkLoad struct {
	calls  int
	tokens float64 // new calls the trunk may start now (calls_per_second)
	last   time.Time
}

func newAdmission(max int, refused *prometheus.CounterVec) *admission {
	return &admission{max: max, load: map[string]*trunkLoad{}, refused: refused}
}

// take admits a call from one trunk to another, or names the cap that
// refuses it. release gives the call's places back; it may be called more
// than once.
func (a *admission) take(from, to *trunk, now time.Time) (release func(), refused string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	loads := []*trunkLoad{a.loadOf(from)}
	if to != from { // a trunk's call to itself is one call on it
		loads = append(loads, a.loadOf(to))
	}
	switch {
	case a.calls >= a.max:
		refused = "calls_limit"
	case full(from, loads[0]) || full(to, loads[len(loads)-1]):
		refused = "trunk_calls_limit"
	case !loads[0].rate(from.cfg.CallsPerSec, now):
		refused = "trunk_rate_limit"
	}
	if refused != "" {
		a.refused.WithLabelValues(from.cfg.Name, refused).Inc()
		return func() {}, refused
	}
	a.add(loads, 1)
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			a.add(loads, -1)
			a.mu.Unlock()
		})
	}, ""
}

// add counts n calls in all and on each of loads; a.mu is held.
func (a *admission) add(loads []*trunkLoad, n int) {
	a.calls += n
	for _, l := range loads {
		l.calls += n
	}
}

func (a *admission) loadOf(t *trunk) *trunkLoad {
	l := a.load[t.cfg.Name]
	if l == nil {
		l = &trunkLoad{}
		a.load[t.cfg.Name] = l
	}
	return l
}

// reconfigure sets the cap on all calls and forgets the idle loads of
// trunks no longer configured; a removed trunk's calls in progress keep
// their load until they end.
func (a *admission) reconfigure(max int, trunks []*trunk) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.max = max
	for name, l := range a.load {
		if l.calls == 0 && !slices.ContainsFunc(trunks, func(t *trunk) bool { return t.cfg.Name == name }) {
			delete(a.load, name)
		}
	}
}

func full(t *trunk, l *trunkLoad) bool {
	return t.cfg.MaxCalls > 0 && l.calls >= t.cfg.MaxCalls
}

// rate takes one token of a bucket filled at perSec a second, holding at
// most one second's worth (at least one call); perSec 0 means no cap.
func (l *trunkLoad) rate(perSec float64, now time.Time) bool {
	if perSec <= 0 {
		return true
	}
	burst := max(1, perSec)
	if l.last.IsZero() {
		l.tokens = burst
	} else {
		l.tokens = min(burst, l.tokens+now.Sub(l.last).Seconds()*perSec)
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
