package sip

import (
	"net/netip"
	"sync"
	"time"
)

// sourceRate is a per-address token bucket with a temporary block, the idea
// of Kamailio's pike: a source that sends more out-of-dialog requests than
// its rate (after a burst) is dropped for the block time. The table is
// bounded: entries of sources that went quiet are swept, and while it is
// full a new source is let through untracked (and counted) rather than
// refused, so filling it with spoofed sources cannot lock out a trunk.
type sourceRate struct {
	rate    float64 // tokens per second; <0: off
	burst   float64
	block   time.Duration
	max     int
	onBlock func() // a source was blocked
	onFull  func() // a source went untracked: the table is full
	mu      sync.Mutex
	m       map[netip.Addr]*bucket
	sweepAt time.Time
}

type bucket struct {
	tokens  float64
	last    time.Time
	blocked time.Time // dropped until then
}

func newSourceRate(rate float64, burst int, block time.Duration, max int) *sourceRate {
	return &sourceRate{rate: rate, burst: float64(burst), block: block, max: max,
		onBlock: func() {}, onFull: func() {}, m: map[netip.Addr]*bucket{}}
}

// allow takes a token for a request from src at now.
func (r *sourceRate) allow(src netip.Addr, now time.Time) bool {
	if r == nil || r.rate < 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.m[src]
	if b == nil {
		if b = r.add(src, now); b == nil {
			return true
		}
	}
	if now.Before(b.blocked) {
		return false
	}
	b.tokens = min(r.burst, b.tokens+now.Sub(b.last).Seconds()*r.rate)
	b.last = now
	if b.tokens < 1 {
		b.blocked = now.Add(r.block)
		r.onBlock()
		return false
	}
	b.tokens--
	return true
}

func (r *sourceRate) add(src netip.Addr, now time.Time) *bucket {
	if len(r.m) >= r.max && now.After(r.sweepAt) {
		r.sweep(now)
		r.sweepAt = now.Add(time.Second)
	}
	if len(r.m) >= r.max {
		r.onFull()
		return nil
	}
	b := &bucket{tokens: r.burst, last: now}
	r.m[src] = b
	return b
}

// sweep forgets sources whose bucket has refilled and whose block is over:
// they are as new.
func (r *sourceRate) sweep(now time.Time) {
	for a, b := range r.m {
		full := b.tokens+now.Sub(b.last).Seconds()*r.rate >= r.burst
		if full && !now.Before(b.blocked) {
			delete(r.m, a)
		}
	}
}

// blocked is the number of sources blocked now.
func (r *sourceRate) blockedNow(now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.m {
		if now.Before(b.blocked) {
			n++
		}
	}
	return n
}
