package dtmf

import (
	"math"
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
				got[j].finish(&g, &gp)
				finishGo(&want[j], &w, &wp)
				if g != w || gp != wp {
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
			got[j].finish(&g, &gp)
			finishGo(&want[j], &w, &wp)
			if g != w || gp != wp {
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
		var got, want [numBins]float32
		windowPow(s[0], s[1], s[2], s[3], &got)
		windowPowGo(s[0], s[1], s[2], s[3], &want)
		if !samePowers(&got, &want) {
			t.Fatalf("window %d: assembly %v, Go %v", i, got, want)
		}
		pairPow(s[0], s[1], &got)
		pairPowGo(s[0], s[1], &want)
		if !samePowers(&got, &want) {
			t.Fatalf("pair %d: assembly %v, Go %v", i, got, want)
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
		a.finish(&g, &gp)
		finishGo(&a, &w, &wp)
		if !samePowers(&gp, &wp) || !samePowers(&g.re, &w.re) || !samePowers(&g.im, &w.im) || g.energy != w.energy {
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
