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
