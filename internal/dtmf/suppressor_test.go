package dtmf

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// suppress runs pcm through an open suppressor in 20 ms packets, then pushes
// one lookahead of silence so the whole input comes out. It returns the
// output re-aligned with the input (out[i] replaces in[i]) and the digits.
func suppress(t testing.TB, cfg SuppressorConfig, pcm []int16) ([]int16, []Digit, SuppressorStats) {
	t.Helper()
	s, err := NewSuppressor(cfg)
	require.NoError(t, err)
	s.Open()
	L := s.Lookahead()
	out, digits := process(t, s, append(append([]int16{}, pcm...), make([]int16, L)...))
	return out[L:], digits, s.Stats()
}

// process runs in through s in 20 ms packets, as the relay does.
func process(t testing.TB, s *Suppressor, in []int16) ([]int16, []Digit) {
	t.Helper()
	out := make([]int16, len(in))
	var digits []Digit
	for off := 0; off < len(in); off += 160 {
		end := min(off+160, len(in))
		var err error
		digits, err = s.Process(in[off:end], out[off:end], digits)
		require.NoError(t, err)
	}
	return out, digits
}

// nonReport are tones the detector need not (or must not) report, which the
// suppressor must hide all the same.
var nonReport = []struct {
	name  string
	build func(s *signal, k Key)
}{
	{"10 ms", func(s *signal, k Key) { s.press(nominal(k, 10*ms)) }},
	{"15 ms", func(s *signal, k Key) { s.press(nominal(k, 15*ms)) }},
	{"20 ms", func(s *signal, k Key) { s.press(nominal(k, 20*ms)) }},
	{"25 ms", func(s *signal, k Key) { s.press(nominal(k, 25*ms)) }},
	{"30 ms", func(s *signal, k Key) { s.press(nominal(k, 30*ms)) }},
	{"35 ms", func(s *signal, k Key) { s.press(nominal(k, 35*ms)) }},
	{"39 ms", func(s *signal, k Key) { s.press(nominal(k, 39*ms)) }},
	{"row +2.5%", func(s *signal, k Key) { s.press(withDev(k, 0.025, 0)) }},
	{"col -3%", func(s *signal, k Key) { s.press(withDev(k, 0, -0.03)) }},
	{"both +3.5%", func(s *signal, k Key) { s.press(withDev(k, 0.035, 0.035)) }},
	{"both -4%", func(s *signal, k Key) { s.press(withDev(k, -0.04, -0.04)) }},
	{"twist +10 dB", func(s *signal, k Key) { s.press(withLevels(k, -16, -6)) }},
	{"twist +14 dB", func(s *signal, k Key) { s.press(withLevels(k, -20, -6)) }},
	{"twist -12 dB", func(s *signal, k Key) { s.press(withLevels(k, -4, -16)) }},
	{"twist -16 dB", func(s *signal, k Key) { s.press(withLevels(k, -4, -20)) }},
	{"-30 dBm0", func(s *signal, k Key) { s.press(withLevels(k, -30, -30)) }},
	{"-35 dBm0", func(s *signal, k Key) { s.press(withLevels(k, -35, -35)) }},
	{"-40 dBm0", func(s *signal, k Key) { s.press(withLevels(k, -40, -40)) }},
	{"-45 dBm0", func(s *signal, k Key) { s.press(withLevels(k, -45, -45)) }},
	{"-50 dBm0", func(s *signal, k Key) { s.press(withLevels(k, -50, -50)) }},
	{"-30 dBm0 in 15 dB S/N noise", func(s *signal, k Key) {
		s.press(withLevels(k, -30, -30)).silence(30 * ms).noise(dualRMS(-30) / math.Pow(10, 15.0/20))
	}},
	{"40 ms -20 dBm0 over speech-level noise at 10 dB S/N", func(s *signal, k Key) {
		s.press(withLevels(k, -20, -20)).silence(30 * ms).noise(dualRMS(-20) / math.Pow(10, 10.0/20))
	}},
	{"stutter 15/15 ms x6", func(s *signal, k Key) {
		for range 6 {
			s.press(nominal(k, 15*ms)).silence(15 * ms)
		}
	}},
	{"stutter 20/10 ms x5", func(s *signal, k Key) {
		for range 5 {
			s.press(nominal(k, 20*ms)).silence(10 * ms)
		}
	}},
	{"stutter 8/4 ms x10", func(s *signal, k Key) {
		for range 10 {
			s.press(nominal(k, 8*ms)).silence(4 * ms)
		}
	}},
}

// vector is one generated test signal with its true tone positions.
type vector struct {
	name  string
	pcm   []int16
	tones [][2]int
}

func suppressionVectors() []vector {
	var vs []vector
	add := func(name string, build func(*signal, Key)) {
		for _, k := range Keys {
			for ai, lead := range []int{0, 23, 101} {
				s := newSignal(uint64(ai*7 + int(k))).silence(60*ms + lead)
				build(s, k)
				s.silence(100 * ms)
				vs = append(vs, vector{fmt.Sprintf("%s key %c lead %d", name, k, lead), s.pcm(), s.tones})
			}
		}
	}
	for _, c := range q24Cases {
		add("detect: "+c.name, c.build)
	}
	for _, c := range nonReport {
		add("hide: "+c.name, c.build)
	}
	return vs
}

var allModes = []MaskMode{MaskTone, MaskSilence, MaskComfortNoise, MaskWindow}

// TestSuppressorLeavesNothingToDecode runs every vector through the
// suppressor in every mode and hands the output to spandsp and multimon-ng
// at their most sensitive: they must find nothing. Every 1 ms of every tone
// (and ±20 ms around it) must also differ from the input.
func TestSuppressorLeavesNothingToDecode(t *testing.T) {
	vs := suppressionVectors()
	gap := make([]int16, 200*ms)
	var control []int16
	for _, v := range vs[:len(q24Cases)*len(Keys)*3] {
		control = append(append(control, v.pcm...), gap...)
	}
	// Control: the unsuppressed detection vectors are full of digits.
	require.Greater(t, len(decodeSpandsp(t, control)), 500)
	require.Greater(t, len(decodeMultimon(t, control)), 500)
	for _, mode := range allModes {
		t.Run(mode.String(), func(t *testing.T) {
			var joined []int16
			for _, v := range vs {
				out, _, st := suppress(t, SuppressorConfig{Mode: mode}, v.pcm)
				require.Zero(t, st.Late, v.name)
				require.Zero(t, st.Unsuspected, v.name)
				requireNoToneSlot(t, v, out)
				joined = append(append(joined, out...), gap...)
			}
			require.Empty(t, decodeSpandsp(t, joined), "spandsp decoded suppressed audio")
			require.Empty(t, decodeMultimon(t, joined), "multimon-ng decoded suppressed audio")
			t.Logf("%d vectors, %.0f s of audio: spandsp and multimon-ng found no digit", len(vs), float64(len(joined))/SampleRate)
		})
	}
}

// requireNoToneSlot checks every 1 ms slot from 20 ms before each tone to
// 20 ms after it: none may be forwarded as it came in (the lookahead line
// copies samples exactly, so forwarded means equal), unless the input there
// is digital silence, which carries nothing.
func requireNoToneSlot(t *testing.T, v vector, out []int16) {
	t.Helper()
	for _, tone := range v.tones {
		for s0 := max(tone[0]-20*ms, 0); s0 < min(tone[1]+20*ms, len(out)); s0 += ms {
			same, silent := 0, true
			for i := s0; i < s0+ms && i < len(out); i++ {
				if out[i] == v.pcm[i] {
					same++
				}
				silent = silent && v.pcm[i] == 0
			}
			if !silent && same > ms/2 {
				t.Fatalf("%s: 1 ms at %.3f s forwarded unmasked (tone %.3f-%.3f s)", v.name,
					float64(s0)/SampleRate, float64(tone[0])/SampleRate, float64(tone[1])/SampleRate)
			}
		}
	}
}

// Sixteen runs that differ only in the key give bit-identical output: the
// masked spans and their fill do not depend on the key.
func TestSuppressorOutputIndependentOfKey(t *testing.T) {
	timings := []struct {
		name  string
		build func(s *signal, k Key)
	}{
		{"50 ms", func(s *signal, k Key) { s.press(nominal(k, 50*ms)) }},
		{"40 ms + 40 ms pause + 40 ms", func(s *signal, k Key) {
			s.press(nominal(k, 40*ms)).silence(40 * ms).press(nominal(k, 40*ms))
		}},
		{"100 ms at -25 dBm0", func(s *signal, k Key) { s.press(withLevels(k, -25, -25)) }},
		{"15 ms", func(s *signal, k Key) { s.press(nominal(k, 15*ms)) }},
	}
	for _, mode := range allModes {
		for _, tm := range timings {
			for _, lead := range []int{0, 5, 19, 40, 77, 133} {
				var want []int16
				for _, k := range Keys {
					s := newSignal(42).silence(60*ms + lead)
					tm.build(s, k)
					s.silence(100 * ms)
					out, _, _ := suppress(t, SuppressorConfig{Mode: mode}, s.pcm())
					if want == nil {
						want = out
						continue
					}
					if i := firstDiff(want, out); i >= 0 {
						t.Fatalf("mode %s, %s, lead %d: output for key %c differs from key 0 at sample %d (tone at %d)", mode, tm.name, lead, k, i, s.tones[0][0])
					}
				}
			}
		}
	}
}

func TestSuppressorReportsConfirmedDigits(t *testing.T) {
	s := newSignal(3).silence(60 * ms)
	for _, k := range Keys {
		s.press(nominal(k, 50*ms)).silence(60 * ms)
	}
	_, digits, st := suppress(t, SuppressorConfig{}, s.pcm())
	require.Equal(t, "0123456789*#ABCD", keysOf(digits))
	require.Zero(t, st.Late)
}

func TestSuppressorBypassWhenClosed(t *testing.T) {
	sup, err := NewSuppressor(SuppressorConfig{})
	require.NoError(t, err)
	in := newSignal(9).silence(10 * ms).press(nominal('5', 60*ms)).silence(100 * ms).pcm()
	out, digits := process(t, sup, in)
	require.Equal(t, in, out, "closed window: no delay, no change")
	require.Equal(t, "5", keysOf(digits), "digits are still reported outside windows")
}

func TestSuppressorOpenCloseTiming(t *testing.T) {
	sup, err := NewSuppressor(SuppressorConfig{Mode: MaskSilence, Lookahead: 40 * time.Millisecond})
	require.NoError(t, err)
	pkt := make([]int16, 160)
	for i := range pkt {
		pkt[i] = int16(i + 1)
	}
	out := make([]int16, 160)
	_, _ = sup.Process(pkt, out, nil)
	require.Equal(t, pkt, out)
	sup.Open()
	_, _ = sup.Process(pkt, out, nil)
	require.Equal(t, make([]int16, 160), out, "lookahead builds up: the first 40 ms after Open is fill")
	_, _ = sup.Process(pkt, out, nil)
	require.Equal(t, make([]int16, 160), out)
	_, _ = sup.Process(pkt, out, nil)
	require.Equal(t, pkt, out[:], "after 40 ms the input comes out 320 samples late")
	sup.Close()
	_, _ = sup.Process(pkt, out, nil)
	require.Equal(t, pkt, out, "closed: live again, the delayed 40 ms is dropped")
}

func TestSuppressorRejectsBadConfig(t *testing.T) {
	for _, c := range []SuppressorConfig{
		{Lookahead: 10 * time.Millisecond},
		{Lookahead: time.Second},
		{Mode: MaskMode(9)},
		{Tail: 5 * time.Millisecond},
		{ToneLevel: 3},
		{NoiseLevel: math.NaN()},
		{ToneLevel: math.Inf(-1)},
		{Detector: DetectorConfig{MinLevel: math.NaN()}},
		{Detector: DetectorConfig{HighTwist: math.Inf(1)}},
	} {
		_, err := NewSuppressor(c)
		require.ErrorIs(t, err, ErrBadConfig, "%+v", c)
	}
	_, err := NewSuppressor(SuppressorConfig{})
	require.NoError(t, err)
	s, _ := NewSuppressor(SuppressorConfig{})
	_, err = s.Process(make([]int16, 160), make([]int16, 80), nil)
	require.ErrorIs(t, err, ErrLengthMismatch)
}

func firstDiff(a, b []int16) int {
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// A packet lost in the middle of a tone: the key is reported once and the
// tone around the hole is still masked.
func TestSuppressorLostPacket(t *testing.T) {
	for _, k := range Keys {
		pcm := newSignal(5).silence(60 * ms).press(nominal(k, 120*ms)).silence(100 * ms).pcm()
		s, err := NewSuppressor(SuppressorConfig{Mode: MaskSilence})
		require.NoError(t, err)
		s.Open()
		out := make([]int16, len(pcm))
		var digits []Digit
		for off := 0; off+160 <= len(pcm); off += 160 {
			if off == 960 { // inside the tone
				s.Lost(out[off : off+160])
				continue
			}
			digits, err = s.Process(pcm[off:off+160], out[off:off+160], digits)
			require.NoError(t, err)
		}
		require.Equal(t, string(k), keysOf(digits))
		require.Zero(t, s.Stats().Late)
		L := s.Lookahead()
		for i := 480; i < 480+120*ms && i+L < len(out); i++ {
			require.Zero(t, out[i+L], "key %c: tone sample %d forwarded", k, i)
		}
	}
}

// In background noise a span's edge can land one 10 ms grid step earlier or later
// for some keys: whether the 1 ms block holding the tone's first or last
// few samples clears the noise threshold depends on those samples. The tone
// itself stays masked for every key; what differs is one grid step of
// background noise at the span's edge. This test bounds that and reports
// how often it happens (docs/dtmf.md, known weaknesses).
func TestSuppressorKeyIndependenceInNoise(t *testing.T) {
	runs, differ := 0, 0
	for _, snr := range []float64{15, 20, 30} {
		for lead := 0; lead < 160; lead += 7 {
			var want []int16
			for _, k := range Keys {
				s := newSignal(42).silence(60*ms + lead)
				s.press(withLevels(k, -20, -20)).silence(100 * ms).noise(dualRMS(-20) / math.Pow(10, snr/20))
				out, _, st := suppress(t, SuppressorConfig{Mode: MaskTone}, s.pcm())
				require.Zero(t, st.Late)
				requireNoToneSlot(t, vector{fmt.Sprintf("key %c", k), s.pcm(), s.tones}, out)
				if want == nil {
					want = out
					continue
				}
				runs++
				n := 0
				for i := range out {
					if out[i] != want[i] {
						n++
					}
				}
				if n > 0 {
					differ++
				}
				require.LessOrEqual(t, n, 2*edgeGrid, "snr %v lead %d key %c: %d samples differ", snr, lead, k, n)
			}
		}
	}
	t.Logf("in 15-30 dB S/N noise, %d of %d key pairs differ, by at most one 10 ms grid step at each end", differ, runs)
}

// Suppressing in place (out is in) forwards exactly what a separate out
// buffer gets, window open or closed.
func TestSuppressorInPlace(t *testing.T) {
	s := newSignal(3).silence(30 * ms)
	for _, k := range []Key{'4', '1', '#'} {
		s.press(nominal(k, 60*ms)).silence(50 * ms)
	}
	pcm := s.noise(Amplitude(-40)).pcm()
	a, err := NewSuppressor(SuppressorConfig{})
	require.NoError(t, err)
	b, err := NewSuppressor(SuppressorConfig{})
	require.NoError(t, err)
	var da, db []Digit
	out, buf := make([]int16, 160), make([]int16, 160)
	for i, off := 0, 0; off+160 <= len(pcm); i, off = i+1, off+160 {
		if i == 3 {
			a.Open()
			b.Open()
		}
		if i == len(pcm)/160-4 {
			a.Close()
			b.Close()
		}
		da, err = a.Process(pcm[off:off+160], out, da)
		require.NoError(t, err)
		copy(buf, pcm[off:off+160])
		db, err = b.Process(buf, buf, db)
		require.NoError(t, err)
		require.Equal(t, out, buf, "packet %d", i)
	}
	require.Equal(t, da, db)
	require.Equal(t, "41#", keysOf(da))
}

// Suppressors (and their detectors) with the same configuration share one
// copy of it, whichever of its fields were left to defaults; another
// configuration gets its own, and a detector Reset keeps its own.
func TestSuppressorsShareTheirConfig(t *testing.T) {
	a, err := NewSuppressor(SuppressorConfig{})
	require.NoError(t, err)
	b, err := NewSuppressor(SuppressorConfig{Lookahead: 40 * time.Millisecond, Mode: MaskTone})
	require.NoError(t, err)
	c, err := NewSuppressor(SuppressorConfig{Mode: MaskSilence, Detector: DetectorConfig{MinLevel: -30}})
	require.NoError(t, err)
	require.Same(t, a.par, b.par)
	require.Same(t, a.det.par, b.det.par)
	require.NotSame(t, a.par, c.par)
	require.NotSame(t, a.det.par, c.det.par)
	require.Equal(t, MaskSilence, c.Config().Mode)
	require.Equal(t, -30.0, c.det.Config().MinLevel)
	c.det.Reset()
	require.Equal(t, -30.0, c.det.Config().MinLevel)
}
