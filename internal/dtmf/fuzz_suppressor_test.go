package dtmf

import (
	"encoding/binary"
	"testing"
)

// FuzzSuppressor feeds arbitrary audio in arbitrary packet sizes: no panic,
// output the length of input, and nothing a suspected slot held ever left
// before it was suspected (Late), nor a confirmed key that suspicion missed.
func FuzzSuppressor(f *testing.F) {
	f.Add(s16le(newSignal(1).silence(80).press(nominal('5', 50*ms)).silence(400).pcm()), uint8(160), uint8(0))
	f.Add(s16le(newSignal(2).press(withLevels('D', -40, -30)).pcm()), uint8(7), uint8(2))
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80}, uint8(1), uint8(3))
	f.Fuzz(func(t *testing.T, raw []byte, pkt, mode uint8) {
		pcm := make([]int16, len(raw)/2)
		for i := range pcm {
			pcm[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		s, err := NewSuppressor(SuppressorConfig{Mode: MaskMode(mode % 4)})
		if err != nil {
			t.Fatal(err)
		}
		s.Open()
		n := int(pkt%200) + 1
		out := make([]int16, n)
		var digits []Digit
		for off := 0; off < len(pcm); off += n {
			end := min(off+n, len(pcm))
			if digits, err = s.Process(pcm[off:end], out[:end-off], digits[:0]); err != nil {
				t.Fatal(err)
			}
		}
		if st := s.Stats(); st.Late != 0 || st.Unsuspected != 0 {
			t.Fatalf("late %d, unsuspected %d", st.Late, st.Unsuspected)
		}
	})
}
