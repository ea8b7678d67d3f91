package dtmf

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeyToneIsDetectedAtItsLevel(t *testing.T) {
	for _, k := range Keys {
		pcm, err := AppendKey(make([]int16, 100), k, -7, 50*ms, 50*ms)
		require.NoError(t, err)
		require.Equal(t, string(k), keysOf(detectAll(NewDetector(DetectorConfig{}), pcm, 160)))
		// Each tone at -7 dBm0: the pair's rms is the single-tone amplitude.
		require.InDelta(t, Amplitude(-7), rms(pcm[100:100+50*ms]), Amplitude(-7)*0.02)
	}
	_, err := NewKeyTone('x', -7)
	require.ErrorIs(t, err, ErrBadEvent)
	_, err = NewKeyTone('1', 3)
	require.ErrorIs(t, err, ErrBadConfig)
}

func TestToneGeneratorIsPhaseContinuous(t *testing.T) {
	g, err := NewKeyTone('5', -10)
	require.NoError(t, err)
	whole := make([]int16, 400)
	g.Read(whole)
	g.Reset()
	parts := make([]int16, 400)
	for off := 0; off < 400; off += 37 {
		g.Read(parts[off:min(off+37, 400)])
	}
	require.Equal(t, whole, parts)
}

func TestMaskToneIsNoKey(t *testing.T) {
	pcm := make([]int16, 8000)
	NewTone(MaskToneHz, -10).Read(pcm)
	require.Empty(t, keysOf(detectAll(NewDetector(DetectorConfig{}), pcm, 160)))
	for _, f := range append(RowHz[:], ColHz[:]...) {
		require.Greater(t, math.Abs(MaskToneHz-f)/f, 0.05, "mask tone too close to %v Hz", f)
	}
}

func TestNoiseIsDeterministicAtItsLevel(t *testing.T) {
	a, b := make([]int16, 80000), make([]int16, 80000)
	NewNoise(-30, 7).Read(a)
	NewNoise(-30, 7).Read(b)
	require.Equal(t, a, b)
	want := Amplitude(-30) / math.Sqrt2 // rms of a sine at -30 dBm0
	require.InDelta(t, want, rms(a), want*0.03)
	require.Empty(t, keysOf(detectAll(NewDetector(DetectorConfig{}), a, 160)))
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(pcm)))
}
