package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A round's overhead is its two runs against the reference's two, so a
// drift that slows the second half of a round cancels; the median ignores
// one wild round.
func TestOverheads(t *testing.T) {
	ref := []cpuRun{{10, 5}, {12, 6}, {20, 10}, {20, 10}}
	st := []cpuRun{{11, 6}, {13.2, 6.6}, {20, 10}, {21, 11}}
	over, user := overheads(st, ref)
	require.InDeltaSlice(t, []float64{10, 0.5 / 20 * 100}, over, 1e-9)
	require.InDeltaSlice(t, []float64{100 * (12.6/11 - 1), 5}, user, 1e-9)
	require.Equal(t, 2.0, median([]float64{9, 1, 2}))
	require.Equal(t, 1.5, median([]float64{2, 1}))
	require.Equal(t, "1.0–9.0", span([]float64{9, 1, 2}, "%.1f"))
}

// Phases after the warm-up run the list and the list reversed, each round.
func TestPhaseOrder(t *testing.T) {
	require.Equal(t, []int{0, 1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0}, phaseOrder([]string{"none", "closed", "open"}, 2))
	require.Equal(t, []int{0, 1, 1, 0}, phaseOrder([]string{"none", "open"}, 1))
}
