package api

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/vault"
)

// The gate writes a burst, then refusalRate a second; what it holds back
// is counted into the next record written, or into a record of its own at
// a flush.
func TestRefusalGate(t *testing.T) {
	g := newRefusalGate()
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for i := range refusalBurst {
		write, note := g.admit(t0)
		require.True(t, write, "refusal %d of the burst", i)
		require.Empty(t, note)
	}
	for range 7 {
		write, _ := g.admit(t0)
		require.False(t, write)
	}
	_, ok := g.flush()
	require.True(t, ok)
	_, ok = g.flush()
	require.False(t, ok, "a flush takes the count")
	for range 3 {
		write, _ := g.admit(t0.Add(time.Millisecond))
		require.False(t, write)
	}
	write, note := g.admit(t0.Add(time.Second / refusalRate))
	require.True(t, write, "the rate refills")
	require.Equal(t, "; before it, 3 unauthenticated refusals since 2026-11-24T12:00:00Z, over 10/s, counted and not written one by one", note)
	_, ok = g.flush()
	require.False(t, ok)
}

var heldBack = regexp.MustCompile(`(\d+) unauthenticated refusals since`)

// TestUnauthenticatedFloodIsCounted: a flood of keyless requests is
// answered 401 every time, writes at most the burst plus the rate into the
// audit log, and the log still accounts for every one of them once the
// server stops; the chain verifies.
func TestUnauthenticatedFloodIsCounted(t *testing.T) {
	e := startDetok(t, false, vault.DetokenizeConfig{})
	const flood = 300
	start := time.Now()
	for i := range flood {
		auth := ""
		if i%2 == 1 {
			auth = "Bearer " + unknownKey
		}
		require.Equal(t, 401, e.send(t, "GET", "/v1/calls", auth, ""))
	}
	elapsed := time.Since(start)
	e.stop()
	recs := e.records(t)
	require.LessOrEqual(t, len(recs), refusalBurst+int(elapsed.Seconds()*refusalRate)+2, "in %v", elapsed)
	accounted := 0
	for _, r := range recs {
		require.Equal(t, audit.AccessDenied, r.Type)
		require.Equal(t, outcomeUnauthenticated, r.Outcome)
		if strings.HasPrefix(r.Reason, "GET /v1/calls: ") { // a refusal written as itself
			accounted++
		}
		if m := heldBack.FindStringSubmatch(r.Reason); m != nil { // and those it, or a flush, counts
			n, err := strconv.Atoi(m[1])
			require.NoError(t, err)
			accounted += n
		}
	}
	require.Equal(t, flood, accounted, "every refusal is in the log, one by one or counted")
}
