package sip

import (
	"net/netip"
	"testing"
	"time"
)

var (
	t0    = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	srcA  = netip.MustParseAddr("192.0.2.1")
	srcB  = netip.MustParseAddr("192.0.2.2")
	srcC  = netip.MustParseAddr("192.0.2.3")
	srcD  = netip.MustParseAddr("2001:db8::4")
	after = func(d time.Duration) time.Time { return t0.Add(d) }
)

// req is one request to a sourceRate: from src at t0+at, and whether it
// must be allowed.
type req struct {
	src   netip.Addr
	at    time.Duration
	allow bool
}

func TestSourceRateBucket(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		burst int
		block time.Duration
		reqs  []req
	}{
		{"burst then blocked", 1, 3, 10 * time.Second, []req{
			{srcA, 0, true}, {srcA, 0, true}, {srcA, 0, true}, {srcA, 0, false}}},
		{"sources have their own buckets", 1, 1, 10 * time.Second, []req{
			{srcA, 0, true}, {srcA, 0, false}, {srcB, 0, true}, {srcD, 0, true}, {srcD, 0, false}}},
		{"refill at rate", 2, 2, 0, []req{
			{srcA, 0, true}, {srcA, 0, true},
			{srcA, 250 * time.Millisecond, false}, // half a token
			{srcA, 750 * time.Millisecond, true},  // one and a half
			{srcA, 750 * time.Millisecond, false}}},
		{"refill stops at burst", 10, 2, 0, []req{
			{srcA, 0, true}, {srcA, time.Hour, true}, {srcA, time.Hour, true}, {srcA, time.Hour, false}}},
		{"blocked for the block time even though tokens refill", 10, 1, 5 * time.Second, []req{
			{srcA, 0, true}, {srcA, 0, false},
			{srcA, 2 * time.Second, false}, {srcA, 5*time.Second - 1, false},
			{srcA, 5 * time.Second, true}, // the block is over and the bucket refilled
			{srcB, time.Second, true}}},   // others are not blocked meanwhile
		{"recovered source has a whole burst again", 1, 2, time.Second, []req{
			{srcA, 0, true}, {srcA, 0, true}, {srcA, 0, false},
			{srcA, 3 * time.Second, true}, {srcA, 3 * time.Second, true}, {srcA, 3 * time.Second, false}}},
		{"negative rate is off", -1, 0, time.Hour, []req{
			{srcA, 0, true}, {srcA, 0, true}, {srcA, 0, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newSourceRate(tt.rate, tt.burst, tt.block, 100)
			for i, q := range tt.reqs {
				if got := r.allow(q.src, after(q.at)); got != q.allow {
					t.Fatalf("request %d from %s at +%v: allowed %v, want %v", i, q.src, q.at, got, q.allow)
				}
			}
		})
	}
}

func TestSourceRateBlockCounts(t *testing.T) {
	r := newSourceRate(1, 1, 10*time.Second, 100)
	blocks := 0
	r.onBlock = func() { blocks++ }
	r.allow(srcA, t0)
	r.allow(srcA, t0)                 // blocked
	r.allow(srcA, after(time.Second)) // dropped while blocked: no new block
	r.allow(srcB, t0)
	if blocks != 1 {
		t.Errorf("onBlock ran %d times, want 1", blocks)
	}
	if n := r.blockedNow(after(time.Second)); n != 1 {
		t.Errorf("blockedNow during the block = %d, want 1", n)
	}
	if n := r.blockedNow(after(10 * time.Second)); n != 0 {
		t.Errorf("blockedNow after the block = %d, want 0", n)
	}
}

func TestSourceRateOffTracksNothing(t *testing.T) {
	r := newSourceRate(-1, 0, time.Hour, 1)
	r.onFull = func() { t.Error("onFull ran with the limiter off") }
	for _, src := range []netip.Addr{srcA, srcB, srcC} {
		r.allow(src, t0)
	}
	if len(r.m) != 0 {
		t.Errorf("%d sources tracked with the limiter off", len(r.m))
	}
	var none *sourceRate
	if !none.allow(srcA, t0) {
		t.Error("a nil limiter refused")
	}
}

// TestSourceRateTableBound: a full table forgets sources whose bucket is
// full again and whose block is over; while none is, a new source passes
// untracked, so spoofed sources cannot fill it and lock anyone out.
func TestSourceRateTableBound(t *testing.T) {
	r := newSourceRate(1, 2, 30*time.Second, 2)
	full := 0
	r.onFull = func() { full++ }
	r.allow(srcA, t0) // 1 token left: not idle
	r.allow(srcB, t0)
	for i := 0; i < 3; i++ { // untracked: never blocked, though over the rate
		if !r.allow(srcC, t0) {
			t.Fatalf("untracked source refused on request %d", i)
		}
	}
	if full != 3 || len(r.m) != 2 || r.m[srcC] != nil {
		t.Fatalf("table full: onFull %d, %d tracked (C %v); want 3, 2, untracked", full, len(r.m), r.m[srcC] != nil)
	}

	// Two seconds on, A and B have refilled: the sweep forgets them.
	if !r.allow(srcC, after(2*time.Second)) {
		t.Fatal("new source refused after the sweep")
	}
	if full != 3 || r.m[srcC] == nil || r.m[srcA] != nil || r.m[srcB] != nil {
		t.Fatalf("after sweep: onFull %d, tracked %v", full, r.m)
	}
}

func TestSourceRateSweepKeepsBlocked(t *testing.T) {
	r := newSourceRate(100, 1, time.Minute, 1)
	r.allow(srcA, t0)
	r.allow(srcA, t0) // blocked for a minute; its bucket refills in 10 ms
	r.allow(srcB, after(2*time.Second))
	if r.m[srcA] == nil || r.m[srcB] != nil {
		t.Fatalf("sweep forgot a blocked source: %v", r.m)
	}
	if r.allow(srcA, after(3*time.Second)) {
		t.Fatal("blocked source allowed after the table filled")
	}
}

func TestSourceRateSweepsAtMostOnceASecond(t *testing.T) {
	r := newSourceRate(1000, 1, 0, 1)
	r.allow(srcA, t0)
	r.allow(srcB, after(time.Second)) // sweeps: A is full; B takes its place
	r.allow(srcC, after(1100*time.Millisecond))
	if r.m[srcB] == nil || r.m[srcC] != nil {
		t.Fatalf("swept again within a second: %v", r.m)
	}
	r.allow(srcC, after(2100*time.Millisecond))
	if r.m[srcC] == nil {
		t.Fatalf("no sweep a second later: %v", r.m)
	}
}
