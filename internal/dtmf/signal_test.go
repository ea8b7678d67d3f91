package dtmf

import (
	"math"
	"math/rand/v2"
)

// Test signals are built in float64 and quantized once, so tones, gaps,
// noise and dial tone mix linearly.

const ms = SampleRate / 1000 // samples per millisecond

// press describes one generated key press.
type pressSpec struct {
	key            Key
	rowDev, colDev float64 // fractional frequency deviation
	rowLvl, colLvl float64 // dBm0 per tone
	dur            int     // samples
	gap            [2]int  // optional interruption: start offset, length (samples)
}

func nominal(k Key, dur int) pressSpec {
	return pressSpec{key: k, rowLvl: -10, colLvl: -10, dur: dur}
}

// signal is a float buffer with the true tone positions recorded.
type signal struct {
	x     []float64
	tones [][2]int // true [start, end) of each press
	rng   *rand.Rand
}

func newSignal(seed uint64) *signal {
	return &signal{rng: rand.New(rand.NewPCG(seed, seed^0x5eed))}
}

func (s *signal) silence(n int) *signal {
	s.x = append(s.x, make([]float64, n)...)
	return s
}

// press appends a dual tone with random starting phases.
func (s *signal) press(p pressSpec) *signal {
	row, col, _ := p.key.Freqs()
	w1 := 2 * math.Pi * row * (1 + p.rowDev) / SampleRate
	w2 := 2 * math.Pi * col * (1 + p.colDev) / SampleRate
	ph1, ph2 := s.rng.Float64()*2*math.Pi, s.rng.Float64()*2*math.Pi
	a1, a2 := Amplitude(p.rowLvl), Amplitude(p.colLvl)
	start := len(s.x)
	for i := range p.dur {
		v := a1*math.Sin(w1*float64(i)+ph1) + a2*math.Sin(w2*float64(i)+ph2)
		if p.gap[1] > 0 && i >= p.gap[0] && i < p.gap[0]+p.gap[1] {
			v = 0
		}
		s.x = append(s.x, v)
	}
	s.tones = append(s.tones, [2]int{start, start + p.dur})
	return s
}

// noise adds white Gaussian noise of the given rms over the whole signal.
func (s *signal) noise(rms float64) *signal {
	for i := range s.x {
		s.x[i] += s.rng.NormFloat64() * rms
	}
	return s
}

// addTone adds a sine at hz with peak amplitude a over the whole signal.
func (s *signal) addTone(hz, a float64) *signal {
	w, ph := 2*math.Pi*hz/SampleRate, s.rng.Float64()*2*math.Pi
	for i := range s.x {
		s.x[i] += a * math.Sin(w*float64(i)+ph)
	}
	return s
}

func (s *signal) pcm() []int16 {
	out := make([]int16, len(s.x))
	for i, v := range s.x {
		out[i] = saturate(v)
	}
	return out
}

// dualRMS is the rms of a dual tone with both tones at level dBm0.
func dualRMS(level float64) float64 { return Amplitude(level) } // sqrt(2 * a²/2)

// detectAll runs a detector over pcm in packets of size pkt and returns the
// events, each with At replaced by the end of the packet that returned it
// (what the relay sees).
func detectAll(d *Detector, pcm []int16, pkt int) []Digit {
	var all []Digit
	buf := make([]Digit, 0, 8)
	for off := 0; off < len(pcm); off += pkt {
		end := min(off+pkt, len(pcm))
		evs := d.Process(pcm[off:end], buf[:0])
		for _, e := range evs {
			e.At = int64(end)
			all = append(all, e)
		}
	}
	return d.Flush(all)
}

func starts(evs []Digit) []Digit {
	var out []Digit
	for _, e := range evs {
		if !e.End {
			out = append(out, e)
		}
	}
	return out
}

func keysOf(evs []Digit) string {
	var b []byte
	for _, e := range starts(evs) {
		b = append(b, byte(e.Key))
	}
	return string(b)
}
