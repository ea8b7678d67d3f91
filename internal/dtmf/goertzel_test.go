package dtmf

import (
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
				got[j].finish(&g)
				want[j].finish(&w)
				if g != w {
					t.Fatalf("input %d, %d slots, slot %d: kernel %+v, Go %+v", i, k, j, g, w)
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
	slots := func(sizes []int) []slot {
		var b bank
		var out []slot
		for i := 0; len(pcm[i:]) > 0; {
			n := min(sizes[len(out)%len(sizes)], len(pcm)-i)
			piece := pcm[i : i+n]
			var acc [maxPre]slotAcc
			k := b.ahead(piece, acc[:])
			for j := range k {
				var s slot
				b.take(&acc[j], &s)
				out = append(out, s)
			}
			piece = piece[k*slotLen:]
			for len(piece) > 0 {
				var s slot
				used, done := b.feed(piece, &s)
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
			got[j].finish(&g)
			want[j].finish(&w)
			if g != w {
				t.Fatalf("slot %d of %d: kernel %+v, Go %+v", j, k, g, w)
			}
		}
	})
}
