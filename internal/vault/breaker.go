package vault

import (
	"sync"
	"time"
)

// breakerState is closed (calls flow), open (calls fail at once) or
// half-open (one trial call decides).
type breakerState int

const (
	breakerClosed breakerState = iota
	breakerOpen
	breakerHalfOpen
)

func (s breakerState) String() string {
	return [...]string{"closed", "open", "half-open"}[s]
}

// breaker opens after a run of consecutive failed attempts, stays open for a
// cool-down, then lets one trial attempt through: success closes it, failure
// opens it again.
type breaker struct {
	failures int
	coolDown time.Duration
	now      func() time.Time

	mu       sync.Mutex
	state    breakerState // guarded by mu
	run      int          // guarded by mu: consecutive failures while closed
	openedAt time.Time    // guarded by mu
	probing  bool         // guarded by mu: the half-open trial is in flight
}

func newBreaker(cfg BreakerConfig, now func() time.Time) *breaker {
	return &breaker{failures: cfg.Failures, coolDown: cfg.CoolDown, now: now}
}

// allow reports whether an attempt may go out now. Every allowed attempt
// must end in exactly one of success, failure or release.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case breakerOpen:
		if b.now().Sub(b.openedAt) < b.coolDown {
			return false
		}
		b.state, b.probing = breakerHalfOpen, true
		return true
	case breakerHalfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	default:
		return true
	}
}

func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state, b.run, b.probing = breakerClosed, 0, false
}

// failure counts a failed attempt; it reports whether the breaker opened.
func (b *breaker) failure() (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.run++
	if b.state == breakerHalfOpen || (b.state == breakerClosed && b.run >= b.failures) {
		b.state, b.openedAt, b.probing = breakerOpen, b.now(), false
		return true
	}
	return false
}

// release ends an attempt that says nothing of the vault's health: the
// caller gave up before an answer came.
func (b *breaker) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == breakerHalfOpen {
		b.probing = false
	}
}

func (b *breaker) current() breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
