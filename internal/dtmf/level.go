package dtmf

import "math"

// SampleRate is the only rate this package processes: 8 kHz narrowband.
const SampleRate = 8000

// dBm0Ref is the peak amplitude, in 16-bit linear PCM, of a sine at 0 dBm0:
// full scale (32768) is +3.14 dBm0 (ITU-T G.711 A-law; µ-law's +3.17 differs
// by 0.03 dB).
var dBm0Ref = 32768 * math.Pow(10, -3.14/20)

// Amplitude returns the peak amplitude of a sine at level dBm0.
func Amplitude(dBm0 float64) float64 { return dBm0Ref * math.Pow(10, dBm0/20) }

// LevelOf returns the level in dBm0 of a sine with peak amplitude a.
func LevelOf(a float64) float64 {
	if a <= 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(a/dBm0Ref)
}
