package api

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tonewall/tonewall/internal/audit"
)

// Unauthenticated refusals (401s) can come from anyone who reaches the
// API, and each record is an fsync under the audit log's lock, so they go
// into the log one by one only up to a rate. Past it they are counted, and
// the count goes into the next one written, or into a record of its own at
// the next flush (every refusalFlush, and at shutdown): the log accounts
// for every refusal, and a flood cannot grow it faster than the rate.
const (
	refusalRate  = 10 // unauthenticated refusals a second written one by one
	refusalBurst = 50
	refusalFlush = 10 * time.Second
)

type refusalGate struct {
	lim   *rate.Limiter
	mu    sync.Mutex
	held  int64     // refusals counted but not written since the last record
	since time.Time // when the first of them came
}

func newRefusalGate() *refusalGate {
	return &refusalGate{lim: rate.NewLimiter(refusalRate, refusalBurst)}
}

// admit reports whether a refusal at now is written; when it is, note
// accounts for those held back before it ("" when none were).
func (g *refusalGate) admit(now time.Time) (write bool, note string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.lim.AllowN(now, 1) {
		if g.held == 0 {
			g.since = now
		}
		g.held++
		return false, ""
	}
	if g.held == 0 {
		return true, ""
	}
	return true, "; before it, " + g.take()
}

// flush returns the record for the refusals held back, if any.
func (g *refusalGate) flush() (audit.Record, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == 0 {
		return audit.Record{}, false
	}
	return audit.Record{Type: audit.AccessDenied, Outcome: outcomeUnauthenticated, Reason: g.take()}, true
}

// take describes the refusals held back, and forgets them.
func (g *refusalGate) take() string {
	n, since := g.held, g.since
	g.held = 0
	return fmt.Sprintf("%d unauthenticated refusals since %s, over %d/s, counted and not written one by one",
		n, since.UTC().Format(time.RFC3339), refusalRate)
}
