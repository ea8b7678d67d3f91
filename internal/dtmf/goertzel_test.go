package dtmf

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// Feeding a stream in odd pieces (the scalar path across calls) or in whole
// packets (slots computed ahead) gives the same slots.
func TestBankPiecesMatchBatches(t *testing.T) {
	pcm := newSignal(5).press(nominal('7', 80*ms)).silence(30 * ms).noise(Amplitude(-40)).pcm()
	pcm = pcm[:len(pcm)/slotLen*slotLen]
	type slotPw struct {
		slot
		pw [numBins]float32
	}
	slots := func(sizes []int) []slotPw {
		var b bank
		var out []slotPw
		for i := 0; len(pcm[i:]) > 0; {
			n := min(sizes[len(out)%len(sizes)], len(pcm)-i)
			piece := pcm[i : i+n]
			var acc [maxPre]slotAcc
			k := b.ahead(piece, acc[:])
			for j := range k {
				var s slotPw
				b.take(&acc[j], &s.slot, &s.pw)
				out = append(out, s)
			}
			piece = piece[k*slotLen:]
			for len(piece) > 0 {
				var s slotPw
				used, done := b.feed(piece, &s.slot, &s.pw)
				if done {
					out = append(out, s)
				}
				piece = piece[used:]
			}
			i += n
		}
		return out
	}
	want := slots([]int{160})
	for _, sizes := range [][]int{{1}, {7, 33, 80}, {39, 41}, {240}, {320, 13}} {
		got := slots(sizes)
		if len(got) != len(want) {
			t.Fatalf("pieces %v: %d slots, want %d", sizes, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("pieces %v: slot %d differs: %+v vs %+v", sizes, i, got[i], want[i])
			}
		}
	}
}

// windowPow picks the strongest row and column bin, the first on a tie,
// and maxBits the largest powers: checked against the plain definitions.
func TestWindowPicksStrongestBins(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 5000 {
		var s [4]slot
		for j := range s {
			for k := range numBins {
				s[j].re[k], s[j].im[k] = float32(rng.IntN(5)), float32(rng.IntN(3)) // small integers: ties
			}
		}
		r, c, top := windowPow(&s[0], &s[1], &s[2], &s[3])
		var pw [numBins]float32
		for k := range numBins {
			x := complex128(complex(s[0].re[k], s[0].im[k]))
			for j := 1; j < 4; j++ {
				rot := complex(float64(coef.rotRe[k]), float64(coef.rotIm[k]))
				x += complex128(complex(s[j].re[k], s[j].im[k])) * cmplx.Pow(rot, complex(float64(j), 0))
			}
			pw[k] = float32(real(x)*real(x) + imag(x)*imag(x))
		}
		best := func(from int) int {
			b := from
			for k := from + 1; k < from+4; k++ {
				if pw[k] > pw[b]*(1+1e-5) {
					b = k
				}
			}
			return b
		}
		near := func(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-4*math.Max(1, float64(b)) }
		// Near-ties may go either way between the exact and the float32 sums.
		if !near(pw[r], pw[best(0)]) || !near(pw[c], pw[best(4)]) || !near(top, pw[best(0)]+pw[best(4)]) {
			t.Fatalf("case %d: bins %d %d top %v, want %d %d (powers %v)", i, r, c, top, best(0), best(4), pw)
		}
	}
	pw := [numBins]float32{1, 3, 3, 2, 0, 0, 0, 0}
	row, col := maxBits(&pw)
	if math.Float32frombits(row) != 3 || col != 0 {
		t.Fatalf("maxBits %v: %#x %#x", pw, row, col)
	}
}
