//go:build !amd64 || purego

package dtmf

const useAVX2 = false

// goertzelSlots computes len(acc) whole slots of pcm.
func goertzelSlots(pcm []int16, acc []slotAcc) { goertzelSlotsGo(pcm, acc) }

// decodeFast decodes nothing: the tables do it all.
func decodeFast(dst []int16, src []byte, alaw bool) int { return 0 }

func (a *slotAcc) finish(out *slot, pw *[numBins]float32) (row, col uint32) {
	return finishGo(a, out, pw)
}

func windowPow(s0, s1, s2, s3 *slot) (r, c int, top float32) { return windowPowGo(s0, s1, s2, s3) }

func pairPow(a, b *slot) (row, col uint32) { return pairPowGo(a, b) }
