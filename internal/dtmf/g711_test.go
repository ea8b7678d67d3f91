package dtmf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// allSamples is every 16-bit value, in order from 0x0000 to 0xFFFF.
func allSamples() []int16 {
	s := make([]int16, 1<<16)
	for i := range s {
		s[i] = int16(uint16(i))
	}
	return s
}

func TestG711KnownValues(t *testing.T) {
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"mu-law 0xFF is +0", int(UlawToLinear(0xFF)), 0},
		{"mu-law 0x7F is -0", int(UlawToLinear(0x7F)), 0},
		{"mu-law 0x80 is +full scale", int(UlawToLinear(0x80)), 32124},
		{"mu-law 0x00 is -full scale", int(UlawToLinear(0x00)), -32124},
		{"mu-law 0xFE is first step", int(UlawToLinear(0xFE)), 8},
		{"A-law 0xD5 is smallest positive", int(AlawToLinear(0xD5)), 8},
		{"A-law 0x55 is smallest negative", int(AlawToLinear(0x55)), -8},
		{"A-law 0xAA is +full scale", int(AlawToLinear(0xAA)), 32256},
		{"A-law 0x2A is -full scale", int(AlawToLinear(0x2A)), -32256},
		{"mu-law encode 0", int(LinearToUlaw(0)), 0xFF},
		{"mu-law encode -1 (one's complement)", int(LinearToUlaw(-1)), 0x7F},
		{"mu-law encode +max", int(LinearToUlaw(32767)), 0x80},
		{"mu-law encode -max", int(LinearToUlaw(-32768)), 0x00},
		{"A-law encode 0", int(LinearToAlaw(0)), 0xD5},
		{"A-law encode -1", int(LinearToAlaw(-1)), 0x55},
		{"A-law encode +max", int(LinearToAlaw(32767)), 0xAA},
		{"A-law encode -max", int(LinearToAlaw(-32768)), 0x2A},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.got, tt.name)
	}
}

// Every code decodes to the centre of its interval and encodes back to itself
// (except µ-law's negative zero, which G.711 maps to positive zero).
func TestG711RoundTrip(t *testing.T) {
	for i := range 256 {
		b := uint8(i)
		if b != 0x7F {
			assert.Equal(t, b, LinearToUlaw(UlawToLinear(b)), "mu-law code %#x", b)
		}
		assert.Equal(t, b, LinearToAlaw(AlawToLinear(b)), "A-law code %#x", b)
	}
}

// Encoding is monotonic: larger samples never get a smaller decoded value.
func TestG711Monotonic(t *testing.T) {
	prevU, prevA := int16(-32768), int16(-32768)
	for _, s := range allSamples()[1<<15:] { // negative half first
		prevU, prevA = checkMono(t, s, prevU, prevA)
	}
	for _, s := range allSamples()[:1<<15] {
		prevU, prevA = checkMono(t, s, prevU, prevA)
	}
}

func checkMono(t *testing.T, s, prevU, prevA int16) (int16, int16) {
	u, a := UlawToLinear(LinearToUlaw(s)), AlawToLinear(LinearToAlaw(s))
	require.GreaterOrEqual(t, u, prevU, "mu-law at %d", s)
	require.GreaterOrEqual(t, a, prevA, "A-law at %d", s)
	return u, a
}

func TestG711BufferFunctionsMatchScalar(t *testing.T) {
	src := allSamples()
	u := EncodeUlaw(make([]byte, len(src)), src)
	a := EncodeAlaw(make([]byte, len(src)), src)
	du := DecodeUlaw(make([]int16, len(src)), u)
	da := DecodeAlaw(make([]int16, len(src)), a)
	for i, s := range src {
		require.Equal(t, LinearToUlaw(s), u[i])
		require.Equal(t, UlawToLinear(u[i]), du[i])
		require.Equal(t, LinearToAlaw(s), a[i])
		require.Equal(t, AlawToLinear(a[i]), da[i])
	}
}

// sox decodes every code exactly as we do.
func TestG711DecodeMatchesSox(t *testing.T) {
	needTool(t, "sox", "sox")
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	for _, enc := range []struct {
		sox    string
		decode func(uint8) int16
	}{{"u-law", UlawToLinear}, {"a-law", AlawToLinear}} {
		out := fromS16le(runTool(t, codes, "sox", "-D", "-t", "raw", "-e", enc.sox, "-b", "8", "-r", "8000", "-c", "1", "-",
			"-t", "raw", "-e", "signed", "-b", "16", "-r", "8000", "-c", "1", "-"))
		require.Len(t, out, 256)
		for i, got := range out {
			require.Equal(t, enc.decode(uint8(i)), got, "%s code %#x", enc.sox, i)
		}
	}
}

// sox encodes every 16-bit sample as G.191 does after first rounding the
// sample to the 14 (µ-law) or 13 (A-law) bits G.711 reads, where G.191
// truncates. So: sox(s) == ours(round(s)) for every sample (up to the sign of
// zero), and sox(s) == ours(s) wherever rounding and truncation agree.
func TestG711EncodeMatchesSox(t *testing.T) {
	needTool(t, "sox", "sox")
	src := allSamples()
	for _, enc := range []struct {
		sox    string
		drop   int32 // bits G.711 ignores
		neg    int32 // where sox's negative grid point sits for G.191
		encode func(int16) uint8
		decode func(uint8) int16
	}{{"u-law", 2, -1, LinearToUlaw, UlawToLinear}, {"a-law", 3, 7, LinearToAlaw, AlawToLinear}} {
		out := runTool(t, s16le(src), "sox", "-D", "-t", "raw", "-e", "signed", "-b", "16", "-r", "8000", "-c", "1", "-",
			"-t", "raw", "-e", enc.sox, "-b", "8", "-r", "8000", "-c", "1", "-")
		require.Len(t, out, len(src))
		same := 0
		for i, s := range src {
			step := int32(1) << enc.drop
			want := enc.encode(soxRounded(s, step, enc.neg))
			if out[i] != want {
				require.Equal(t, enc.decode(want), enc.decode(out[i]), "%s sample %d: sox %#x, G.191 of rounded %#x", enc.sox, s, out[i], want)
			}
			if out[i] == enc.encode(s) {
				same++
			}
		}
		t.Logf("%s: sox == G.191 on %d of 65536 samples; the rest differ only by sox's rounding", enc.sox, same)
		require.Greater(t, same, 64000)
	}
}

// soxRounded models sox: it rounds s/step half up to an integer v, then
// companding reads v. The G.191 sample that reads as v is v*step for v >= 0
// and v*step+neg for v < 0: sox (Sun's g711.c) and G.191 treat negative
// magnitudes differently (negation versus one's complement).
func soxRounded(s int16, step, neg int32) int16 {
	q, r := int32(s)/step, int32(s)%step
	if r < 0 {
		q, r = q-1, r+step
	}
	if 2*r >= step {
		q++
	}
	if q < 0 {
		return int16(max(q*step+neg, -32768))
	}
	return int16(min(q*step, 32767))
}

// TestDecodeMatchesTables: the buffer decoders give the tables' value for
// every code, at any offset and length of the buffer.
func TestDecodeMatchesTables(t *testing.T) {
	codes := make([]byte, 256+7)
	for i := range codes {
		codes[i] = byte(i * 167) // every code, in a scrambled order
	}
	for off := range 8 {
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 160, 256} {
			src := codes[off : off+n]
			du := DecodeUlaw(make([]int16, n), src)
			da := DecodeAlaw(make([]int16, n), src)
			for i, b := range src {
				if du[i] != UlawToLinear(b) || da[i] != AlawToLinear(b) {
					t.Fatalf("off %d n %d code %#02x: µ-law %d want %d, A-law %d want %d",
						off, n, b, du[i], UlawToLinear(b), da[i], AlawToLinear(b))
				}
			}
		}
	}
}
