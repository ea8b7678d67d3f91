package main

import (
	"math"
	"math/rand/v2"

	"github.com/tonewall/tonewall/internal/dtmf"
)

// speechLevel is the rms level, in dBm0, of the active (syllable) parts of
// the phones' audio.
const speechLevel = -20

// speechFrames is a speech-like µ-law signal, cut into 20 ms payloads, that
// the phones play in a loop, each from its own place (see speech).
var speechFrames = speech(8, 1)

// speech synthesizes seconds of speech-like 8 kHz audio as 160-byte µ-law
// frames: talkspurts of 3-8 syllables with pauses between them; each
// syllable a short noise burst (a consonant) then a vowel (a glottal pulse
// train at a wandering pitch of 90-230 Hz through three formant
// resonators), under a raised-cosine syllabic envelope; active speech at
// speechLevel rms, pauses at -60 dBm0 of noise. It holds no keypad tone: the
// tests check that the detector finds none. Deterministic for a seed.
func speech(seconds int, seed uint64) [][]byte {
	const fs = dtmf.SampleRate
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	n := seconds * fs
	sig := make([]float64, 0, n+fs)
	active := make([]bool, 0, n+fs)
	uniform := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	vowels := [][3]float64{{730, 1090, 2440}, {270, 2290, 3010}, {530, 1840, 2480}, {570, 840, 2410},
		{300, 870, 2240}, {660, 1720, 2410}, {490, 1350, 1690}, {440, 1020, 2240}}
	var ph float64 // glottal phase, in periods
	f0 := uniform(110, 180)
	for len(sig) < n {
		for range 3 + rng.IntN(6) { // one talkspurt
			sig, active = syllable(sig, active, rng, vowels[rng.IntN(len(vowels))], &ph, &f0)
			gap := int(uniform(0.02, 0.08) * fs) // between syllables
			sig, active = appendQuiet(sig, active, gap)
		}
		sig, active = appendQuiet(sig, active, int(uniform(0.25, 0.8)*fs))
	}
	sig, active = sig[:n], active[:n]

	var sum float64
	var cnt int
	for i, v := range sig {
		if active[i] {
			sum, cnt = sum+v*v, cnt+1
		}
	}
	gain := dtmf.Amplitude(speechLevel) / math.Sqrt2 / math.Sqrt(sum/float64(max(cnt, 1)))
	pcm := make([]int16, n)
	floor := make([]int16, n)
	dtmf.NewNoise(-60, uint32(seed)).Read(floor)
	for i, v := range sig {
		pcm[i] = int16(max(min(math.Round(v*gain)+float64(floor[i]), 32767), -32768))
	}
	frames := make([][]byte, n/160)
	for i := range frames {
		frames[i] = dtmf.EncodeUlaw(make([]byte, 160), pcm[i*160:(i+1)*160])
	}
	return frames
}

// appendQuiet appends n samples of silence (the noise floor is added later).
func appendQuiet(sig []float64, active []bool, n int) ([]float64, []bool) {
	for range n {
		sig, active = append(sig, 0), append(active, false)
	}
	return sig, active
}

// syllable appends one consonant-vowel syllable of 100-320 ms.
func syllable(sig []float64, active []bool, rng *rand.Rand, formants [3]float64, ph, f0 *float64) ([]float64, []bool) {
	const fs = dtmf.SampleRate
	uniform := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	total := int(uniform(0.1, 0.32) * fs)
	cons := 0
	if rng.IntN(3) > 0 {
		cons = int(uniform(0.02, 0.06) * fs)
	}
	x := make([]float64, total)
	fric := newResonator(uniform(2500, 3300), 800)
	for i := range x[:cons] { // consonant: band noise
		x[i] = fric.step(rng.NormFloat64())
	}
	var res [3]resonator
	for i, f := range formants {
		res[i] = newResonator(f*uniform(0.92, 1.08), 60+40*float64(i))
	}
	target := uniform(90, 230)
	var glottal, prev float64
	for i := range x[cons:] { // vowel: a glottal pulse per period, formant-filtered
		*f0 += (target - *f0) * 0.0005
		*ph += (*f0 * (1 + 0.01*rng.NormFloat64())) / fs
		pulse := 0.0
		if *ph >= 1 {
			*ph -= math.Floor(*ph)
			pulse = 1
		}
		glottal = 0.97*glottal + pulse // spectral tilt of the source
		v := glottal + 0.02*rng.NormFloat64()
		for r := range res {
			v = res[r].step(v)
		}
		x[cons+i] = v - prev // no DC, a gentle high-pass
		prev = v
	}
	// The consonant 10 dB under the vowel; each syllable at its own
	// loudness, within a few dB of the others; then the syllabic envelope.
	normalize(x[:cons], 0.3)
	normalize(x[cons:], 1)
	g := math.Pow(10, uniform(-4, 2)/20)
	for i, v := range x {
		env := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(total))
		sig, active = append(sig, g*env*v), append(active, true)
	}
	return sig, active
}

// normalize scales x to rms.
func normalize(x []float64, rms float64) {
	var sum float64
	for _, v := range x {
		sum += v * v
	}
	if sum == 0 {
		return
	}
	g := rms / math.Sqrt(sum/float64(len(x)))
	for i := range x {
		x[i] *= g
	}
}

// resonator is a two-pole filter with a peak at f Hz of bandwidth bw Hz,
// normalized to unit gain at the peak.
type resonator struct{ a1, a2, g, y1, y2 float64 }

func newResonator(f, bw float64) resonator {
	r := math.Exp(-math.Pi * bw / dtmf.SampleRate)
	th := 2 * math.Pi * f / dtmf.SampleRate
	return resonator{a1: 2 * r * math.Cos(th), a2: -r * r, g: (1 - r) * math.Sqrt(1-2*r*math.Cos(2*th)+r*r)}
}

func (z *resonator) step(x float64) float64 {
	y := z.g*x + z.a1*z.y1 + z.a2*z.y2
	z.y2, z.y1 = z.y1, y
	return y
}
