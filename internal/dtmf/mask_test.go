package dtmf

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// lowThird is the element a third of the way up the sorted values, for every
// length the threshold can pass it, with ties and runs.
func TestLowThirdIsSortedThird(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 0; n <= lookback/blockLen; n++ {
		for range 200 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.IntN(6)) // few values: many ties
				if rng.IntN(3) == 0 {
					v[i] = rng.Float32() * 1e6
				}
			}
			sorted := slices.Clone(v)
			slices.Sort(sorted)
			want := float32(0)
			if n > 0 {
				want = sorted[n/3]
			}
			if got := lowThird(v); got != want {
				t.Fatalf("lowThird(%v) = %v, want %v", v, got, want)
			}
		}
	}
}
