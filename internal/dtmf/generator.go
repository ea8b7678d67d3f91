package dtmf

import (
	"fmt"
	"math"
)

// ToneGenerator produces one or two sines, phase-continuous across calls.
// It is used to inject keypad tones (token DTMF) and, with one sine, as the
// suppressor's flat masking tone.
type ToneGenerator struct {
	w1, w2 float64 // rad/sample
	a1, a2 float64 // peak amplitudes
	n      int64   // samples produced
}

// NewKeyTone returns a generator for key k, each of its two tones at level
// dBm0 (Q.23 nominal: -6 to -10 dBm0 per tone; -7 is common).
func NewKeyTone(k Key, level float64) (*ToneGenerator, error) {
	row, col, ok := k.Freqs()
	if !ok {
		return nil, ErrBadEvent
	}
	if level > 0 || level < -60 {
		return nil, fmt.Errorf("tone level: %w", ErrBadConfig)
	}
	a := Amplitude(level)
	return &ToneGenerator{w1: hzToW(row), w2: hzToW(col), a1: a, a2: a}, nil
}

// NewTone returns a single-sine generator at hz and level dBm0.
func NewTone(hz, level float64) *ToneGenerator {
	return &ToneGenerator{w1: hzToW(hz), a1: Amplitude(level)}
}

func hzToW(hz float64) float64 { return 2 * math.Pi * hz / SampleRate }

// Read fills dst with the next len(dst) samples.
func (g *ToneGenerator) Read(dst []int16) {
	for i := range dst {
		t := float64(g.n)
		dst[i] = saturate(g.a1*math.Sin(g.w1*t) + g.a2*math.Sin(g.w2*t))
		g.n++
	}
}

// Reset restarts the phase at zero.
func (g *ToneGenerator) Reset() { g.n = 0 }

// AppendKey appends a key press of the given duration followed by a pause of
// silence, each tone at level dBm0: the in-band token injector's building block.
func AppendKey(dst []int16, k Key, level float64, tone, pause int) ([]int16, error) {
	g, err := NewKeyTone(k, level)
	if err != nil {
		return dst, err
	}
	n := len(dst)
	dst = append(dst, make([]int16, tone+pause)...)
	g.Read(dst[n : n+tone])
	return dst, nil
}

func saturate(v float64) int16 {
	v = math.Round(v)
	return int16(min(max(v, -32768), 32767))
}

// MaskToneHz is the frequency of the suppressor's flat masking tone: 1 kHz is
// no DTMF row or column (nearest: 941 Hz, 6 % away) and at 8 kHz its period
// is exactly 8 samples, so it is a table.
const MaskToneHz = 1000

// maskTone is one period of a 1 kHz sine at amplitude 1.
var maskTone = func() (t [8]float32) {
	for i := range t {
		t[i] = float32(math.Sin(2 * math.Pi * float64(i) / 8))
	}
	return t
}()

// Noise is a deterministic comfort-noise source: the same sequence for the
// same seed, at a fixed RMS level. It plays a shared, immutable second of
// unit-variance noise (made once by a fixed xorshift32 generator) scaled to
// the level, so the hot path is one multiply per sample and a suppressor
// carries no table of its own.
type Noise struct {
	pos   int
	scale float32
}

const noiseLen = SampleRate // one second, then it repeats

// unitNoise has unit variance: each sample is the sum of four uniforms in
// [-1, 1) (variance 4/3), normalized.
var unitNoise = func() (t [noiseLen]float32) {
	x := uint32(0x9E3779B9)
	norm := float32(1 / math.Sqrt(4.0/3))
	for i := range t {
		var s float32
		for range 4 {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			s += float32(int32(x)) / (1 << 31)
		}
		t[i] = s * norm
	}
	return t
}()

// NewNoise returns comfort noise at rms level dBm0 (e.g. -60); seed picks
// where in the sequence it starts.
func NewNoise(level float64, seed uint32) *Noise {
	rms := Amplitude(level) / math.Sqrt2 // rms of a sine at level
	return &Noise{pos: int(seed % noiseLen), scale: float32(rms)}
}

// Read fills dst with noise.
func (z *Noise) Read(dst []int16) {
	for len(dst) > 0 {
		n := min(len(dst), noiseLen-z.pos)
		for i, u := range unitNoise[z.pos : z.pos+n] {
			dst[i] = int16(max(min(u*z.scale, 32767), -32768))
		}
		z.pos = (z.pos + n) % noiseLen
		dst = dst[n:]
	}
}
