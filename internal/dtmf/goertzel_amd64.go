//go:build amd64 && !purego

package dtmf

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernel. Its results are bit-identical to
// goertzelSlotsGo's (TestKernelMatchesGo): same operations, same order, no
// fused multiply-add, and the energy in exact integers.
var useAVX2 = cpu.X86.HasAVX2

// goertzel4AVX2 runs four whole slots (160 samples) side by side, the eight
// frequencies of each in one vector register, and writes acc[0:4].
//
//go:noescape
func goertzel4AVX2(pcm *int16, twoCos *[numBins]float32, acc *slotAcc)

// goertzel1AVX2 runs one whole slot (40 samples) and writes acc[0].
//
//go:noescape
func goertzel1AVX2(pcm *int16, twoCos *[numBins]float32, acc *slotAcc)

// goertzelSlots computes len(acc) whole slots of pcm.
func goertzelSlots(pcm []int16, acc []slotAcc) {
	if !useAVX2 {
		goertzelSlotsGo(pcm, acc)
		return
	}
	_ = pcm[:len(acc)*slotLen] // the kernels read this much
	for len(acc) >= 4 {
		goertzel4AVX2(&pcm[0], &coef.twoCos, &acc[0])
		pcm, acc = pcm[4*slotLen:], acc[4:]
	}
	for len(acc) > 0 {
		goertzel1AVX2(&pcm[0], &coef.twoCos, &acc[0])
		pcm, acc = pcm[slotLen:], acc[1:]
	}
}

// The per-slot arithmetic after the kernel, in AVX2 when the CPU has it;
// bit-identical to the Go versions (TestSlotMathMatchesGo).

//go:noescape
func finishAVX2(a *slotAcc, out *slot, pw *[numBins]float32, c *bankCoef) (row, col uint32)

//go:noescape
func windowPowAVX2(s0, s1, s2, s3 *slot, c *bankCoef) (r, col int, top float32)

//go:noescape
func pairPowAVX2(a, b *slot, c *bankCoef) (row, col uint32)

// finish is finishGo.
func (a *slotAcc) finish(out *slot, pw *[numBins]float32) (row, col uint32) {
	if useAVX2 {
		return finishAVX2(a, out, pw, &coef)
	}
	return finishGo(a, out, pw)
}

// windowPow is windowPowGo.
func windowPow(s0, s1, s2, s3 *slot) (r, c int, top float32) {
	if useAVX2 {
		return windowPowAVX2(s0, s1, s2, s3, &coef)
	}
	return windowPowGo(s0, s1, s2, s3)
}

// pairPow is pairPowGo.
func pairPow(a, b *slot) (row, col uint32) {
	if useAVX2 {
		return pairPowAVX2(a, b, &coef)
	}
	return pairPowGo(a, b)
}
