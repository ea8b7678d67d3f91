package dtmf

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// The kernel in use (assembly where the CPU has AVX2) gives bit-identical
// results to the portable one, on noise, full-scale extremes and tones.
func TestKernelMatchesGo(t *testing.T) {
	if !useAVX2 {
		t.Skip("no assembly kernel on this machine: goertzelSlots is goertzelSlotsGo")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := [][]int16{
		newSignal(3).press(nominal('D', 100*ms)).pcm(),
		newSignal(4).noise(Amplitude(-10)).pcm(),
	}
	extreme := make([]int16, maxPre*slotLen)
	for i := range extreme {
		extreme[i] = [...]int16{-32768, 32767, -32768, 0, -1}[rng.IntN(5)]
	}
	full := make([]int16, maxPre*slotLen)
	for i := range full {
		full[i] = -32768
	}
	random := make([]int16, maxPre*slotLen)
	for i := range random {
		random[i] = int16(rng.Uint32())
	}
	inputs = append(inputs, extreme, full, random)
	for i, in := range inputs {
		for k := 1; k <= maxPre && k*slotLen <= len(in); k++ {
			got, want := make([]slotAcc, k), make([]slotAcc, k)
			goertzelSlots(in[:k*slotLen], got)
			goertzelSlotsGo(in[:k*slotLen], want)
			for j := range k {
				var g, w slot
				var gp, wp [numBins]float32
				gr, gc := got[j].finish(&g, &gp)
				wr, wc := finishGo(&want[j], &w, &wp)
				if g != w || gp != wp || gr != wr || gc != wc {
					t.Fatalf("input %d, %d slots, slot %d: kernel %+v %v, Go %+v %v", i, k, j, g, gp, w, wp)
				}
			}
		}
	}
}

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

// FuzzKernelMatchesGo: any samples give bit-identical slots from the
// assembly kernel and the portable loop.
func FuzzKernelMatchesGo(f *testing.F) {
	f.Add(make([]byte, 2*maxPre*slotLen))
	f.Add([]byte{0x00, 0x80, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !useAVX2 {
			t.Skip("no assembly kernel on this machine")
		}
		pcm := make([]int16, min(len(raw)/2, maxPre*slotLen))
		for i := range pcm {
			pcm[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
		}
		k := len(pcm) / slotLen
		got, want := make([]slotAcc, k), make([]slotAcc, k)
		goertzelSlots(pcm[:k*slotLen], got)
		goertzelSlotsGo(pcm[:k*slotLen], want)
		for j := range k {
			var g, w slot
			var gp, wp [numBins]float32
			gr, gc := got[j].finish(&g, &gp)
			wr, wc := finishGo(&want[j], &w, &wp)
			if g != w || gp != wp || gr != wr || gc != wc {
				t.Fatalf("slot %d of %d: kernel %+v %v, Go %+v %v", j, k, g, gp, w, wp)
			}
		}
	})
}

// TestSlotMathMatchesGo: the per-slot arithmetic after the kernel (a slot's
// powers, a window's, a pair's) gives bit-identical results in assembly
// and in Go, on slots of real signals and of random and extreme values.
func TestSlotMathMatchesGo(t *testing.T) {
	if !useAVX2 {
		t.Skip("no assembly on this machine: the Go versions are the only ones")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var slots []slot
	for _, pcm := range [][]int16{
		newSignal(6).press(nominal('5', 60*ms)).pcm(),
		newSignal(7).noise(Amplitude(-3)).pcm(),
	} {
		var b bank
		var acc [maxPre]slotAcc
		for len(pcm) >= maxPre*slotLen {
			for j := range b.ahead(pcm, acc[:]) {
				var s slot
				b.take(&acc[j], &s, new([numBins]float32))
				slots = append(slots, s)
			}
			pcm = pcm[maxPre*slotLen:]
		}
	}
	extreme := []float32{0, -0, 1e-30, -3.4e38, 3.4e38, 1, -1, 1.5e19}
	for range 200 {
		var s slot
		for k := range numBins {
			s.re[k], s.im[k] = float32(rng.NormFloat64()*1e5), float32(rng.NormFloat64()*1e5)
			if rng.IntN(16) == 0 {
				s.im[k] = extreme[rng.IntN(len(extreme))]
			}
		}
		slots = append(slots, s)
	}
	for i := range 2000 {
		s := [4]*slot{}
		for j := range s {
			s[j] = &slots[rng.IntN(len(slots))]
		}
		gr, gc, gtop := windowPow(s[0], s[1], s[2], s[3])
		wr, wc, wtop := windowPowGo(s[0], s[1], s[2], s[3])
		if gr != wr || gc != wc || math.Float32bits(gtop) != math.Float32bits(wtop) {
			t.Fatalf("window %d: assembly %d %d %v, Go %d %d %v", i, gr, gc, gtop, wr, wc, wtop)
		}
		grow, gcol := pairPow(s[0], s[1])
		wrow, wcol := pairPowGo(s[0], s[1])
		if grow != wrow || gcol != wcol {
			t.Fatalf("pair %d: assembly %#x %#x, Go %#x %#x", i, grow, gcol, wrow, wcol)
		}
	}
	for i := range 2000 {
		a := slotAcc{blocks: [5]int64{rng.Int64N(1 << 33), rng.Int64N(1 << 33), 0, 1 << 32, rng.Int64N(1 << 33)}}
		for k := range numBins {
			a.s1[k] = float32(rng.NormFloat64() * 1e6)
			a.s2[k] = float32(rng.NormFloat64() * 1e6)
			if rng.IntN(16) == 0 {
				a.s2[k] = extreme[rng.IntN(len(extreme))]
			}
		}
		var g, w slot
		var gp, wp [numBins]float32
		gr, gc := a.finish(&g, &gp)
		wr, wc := finishGo(&a, &w, &wp)
		if !samePowers(&gp, &wp) || !samePowers(&g.re, &w.re) || !samePowers(&g.im, &w.im) || g.energy != w.energy || gr != wr || gc != wc {
			t.Fatalf("finish %d: assembly %+v %v, Go %+v %v", i, g, gp, w, wp)
		}
	}
}

// samePowers compares bit patterns, so NaN, infinities and signed zeros
// must match too.
func samePowers(a, b *[numBins]float32) bool {
	for k := range a {
		if math.Float32bits(a[k]) != math.Float32bits(b[k]) {
			return false
		}
	}
	return true
}

// windowPowGo picks the strongest row and column bin, the first on a tie,
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
		r, c, top := windowPowGo(&s[0], &s[1], &s[2], &s[3])
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
