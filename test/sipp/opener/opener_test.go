package main

import "testing"

// TestWindowedSpread checks that share % of any run of calls get a window,
// spread evenly rather than bunched at the start.
func TestWindowedSpread(t *testing.T) {
	for _, share := range []int{0, 1, 20, 33, 50, 75, 100} {
		got := 0
		for n := range 1000 {
			if windowed(n, share) {
				got++
			}
			// after every call, the count is share % of the calls so far, rounded down
			if want := (n + 1) * share / 100; got != want {
				t.Fatalf("share %d: %d windows after %d calls, want %d", share, got, n+1, want)
			}
		}
	}
	if windowed(0, 50) || !windowed(1, 50) || windowed(2, 50) {
		t.Error("share 50: want every other call, from the second")
	}
}
