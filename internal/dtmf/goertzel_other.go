//go:build !amd64 || purego

package dtmf

const useAVX2 = false

// goertzelSlots computes len(acc) whole slots of pcm.
func goertzelSlots(pcm []int16, acc []slotAcc) { goertzelSlotsGo(pcm, acc) }
