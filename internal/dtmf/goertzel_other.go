//go:build !amd64 || purego

package dtmf

import "unsafe"

const useAVX2 = false

// goertzelSlots computes len(acc) whole slots of pcm.
func goertzelSlots(pcm []int16, acc []slotAcc) { goertzelSlotsGo(pcm, acc) }

func prefetch(unsafe.Pointer, uintptr) {}
