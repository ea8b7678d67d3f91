package dtmf

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// g711Pair runs the same G.711 stream through two open suppressors, one
// driven by Process on the decoded samples (its output then encoded, as a
// caller of Process would) and one by ProcessG711 on the bytes, in packets
// of pkt samples. It returns both outputs, digits and stats.
func g711Pair(t testing.TB, cfg SuppressorConfig, law Law, wire []byte, pkt int) (viaPCM, viaWire []byte, da, db []Digit, sa, sb SuppressorStats) {
	t.Helper()
	a, err := NewSuppressor(cfg)
	require.NoError(t, err)
	b, err := NewSuppressor(cfg)
	require.NoError(t, err)
	a.Open()
	b.Open()
	viaPCM, viaWire = make([]byte, len(wire)), append([]byte(nil), wire...)
	pcm := make([]int16, pkt)
	for off := 0; off < len(wire); off += pkt {
		end := min(off+pkt, len(wire))
		in := pcm[:end-off]
		law.decode(in, wire[off:end])
		da, err = a.Process(in, in, da)
		require.NoError(t, err)
		law.Encode(viaPCM[off:end], in)
		db = b.ProcessG711(viaWire[off:end], law, db)
	}
	return viaPCM, viaWire, da, db, a.Stats(), b.Stats()
}

// decodedEqual reports the first sample where a and b decode differently
// (-1 if none): µ-law has two codes for zero, and ProcessG711 forwards the
// caller's own, where decoding and re-encoding would pick one.
func decodedEqual(law Law, a, b []byte) int {
	x, y := make([]int16, len(a)), make([]int16, len(b))
	law.decode(x, a)
	law.decode(y, b)
	return firstDiff(x, y)
}

// TestProcessG711MatchesProcess: on keys, short tones and noise, in every
// mode, both laws and several packet sizes, ProcessG711 forwards what
// Process forwards (encoded), finds the same keys and masks the same
// samples.
func TestProcessG711MatchesProcess(t *testing.T) {
	vs := suppressionVectors()
	for _, law := range []Law{MuLaw, ALaw} {
		for _, mode := range allModes {
			for vi := 0; vi < len(vs); vi += 37 { // a spread of the vectors, every key and lead in turn
				v := vs[vi]
				wire := make([]byte, len(v.pcm))
				law.Encode(wire, v.pcm)
				for _, pkt := range []int{160, 80, 240, 7, 333} {
					name := fmt.Sprintf("law %d mode %v pkt %d %s", law, mode, pkt, v.name)
					viaPCM, viaWire, da, db, sa, sb := g711Pair(t, SuppressorConfig{Mode: mode}, law, wire, pkt)
					require.Equal(t, -1, decodedEqual(law, viaPCM, viaWire), name)
					require.Equal(t, da, db, name)
					require.Equal(t, sa, sb, name)
				}
			}
		}
	}
}

// TestProcessG711Transparent: audio that is not masked leaves byte for byte
// as it came, one lookahead later (every code, both zeros of µ-law too),
// and the first lookahead is the priming fill.
func TestProcessG711Transparent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, law := range []Law{MuLaw, ALaw} {
		s, err := NewSuppressor(SuppressorConfig{Mode: MaskSilence})
		require.NoError(t, err)
		s.Open()
		L := s.Lookahead()
		wire := make([]byte, 50*160)
		for i := range wire {
			wire[i] = byte(rng.IntN(256)) // wideband noise: nothing in it is tone-like
		}
		out := append([]byte(nil), wire...)
		for off := 0; off < len(out); off += 160 {
			s.ProcessG711(out[off:off+160], law, nil)
		}
		require.Zero(t, s.Stats().Masked, "law %d: noise was masked, so this test would prove nothing", law)
		var zero [1]byte
		law.Encode(zero[:], []int16{0})
		for i := range L {
			require.Equal(t, zero[0], out[i], "law %d: priming sample %d", law, i)
		}
		require.Equal(t, wire[:len(wire)-L], out[L:], "law %d: unmasked audio changed", law)
	}
}

// TestProcessG711Closed: with no window the payload is untouched and keys
// are still reported.
func TestProcessG711Closed(t *testing.T) {
	pcm := newSignal(9).silence(20 * ms).press(nominal('3', 60*ms)).silence(80 * ms).pcm()
	wire := make([]byte, len(pcm))
	EncodeUlaw(wire, pcm)
	s, err := NewSuppressor(SuppressorConfig{})
	require.NoError(t, err)
	out := append([]byte(nil), wire...)
	var digits []Digit
	for off := 0; off+160 <= len(out); off += 160 {
		digits = s.ProcessG711(out[off:off+160], MuLaw, digits)
	}
	require.Equal(t, wire, out)
	require.Equal(t, "3", keysOf(starts(digits)))
}

// FuzzProcessG711: any bytes, packet size, mode and law: no panic, nothing
// leaves before it is suspected, and the output is Process's.
func FuzzProcessG711(f *testing.F) {
	tone := newSignal(1).silence(80).press(nominal('5', 50*ms)).silence(400).pcm()
	wire := make([]byte, len(tone))
	EncodeUlaw(wire, tone)
	f.Add(wire, uint16(160), uint8(0))
	f.Add([]byte{0xff, 0x7f, 0x00, 0x80}, uint16(1), uint8(7))
	f.Fuzz(func(t *testing.T, wire []byte, pkt uint16, mode uint8) {
		law := Law(mode >> 2 & 1)
		n := int(pkt%700) + 1 // larger than ProcessG711's chunk too
		viaPCM, viaWire, da, db, sa, sb := g711Pair(t, SuppressorConfig{Mode: MaskMode(mode % 4)}, law, wire, n)
		if i := decodedEqual(law, viaPCM, viaWire); i >= 0 {
			t.Fatalf("sample %d differs from Process's output", i)
		}
		require.Equal(t, da, db)
		require.Equal(t, sa, sb)
		if sb.Late != 0 || sb.Unsuspected != 0 {
			t.Fatalf("late %d, unsuspected %d", sb.Late, sb.Unsuspected)
		}
	})
}
