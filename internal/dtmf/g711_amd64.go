//go:build amd64 && !purego

package dtmf

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly decoder.
var useAVX2 = cpu.X86.HasAVX2

// decodeG711AVX2 decodes n codes of src into dst, eight at a time; n is a
// multiple of 8. Its values are the tables' (TestDecodeAVX2MatchesTables).
//
//go:noescape
func decodeG711AVX2(dst *int16, src *byte, n int, alaw bool)

// decodeFast decodes the whole octets of src with the AVX2 decoder, when
// the CPU has it, and returns how many codes it did.
func decodeFast(dst []int16, src []byte, alaw bool) int {
	n := len(src) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	decodeG711AVX2(&dst[0], &src[0], n, alaw)
	return n
}
