//go:build !amd64 || purego

package dtmf

const useAVX2 = false

// goertzelSlots computes len(acc) whole slots of pcm.
func goertzelSlots(pcm []int16, acc []slotAcc) { goertzelSlotsGo(pcm, acc) }

// decodeFast decodes nothing: the tables do it all.
func decodeFast(dst []int16, src []byte, alaw bool) int { return 0 }
