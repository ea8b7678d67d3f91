package dtmf

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// MaskMode is what the suppressor forwards in place of keypad tones.
type MaskMode int

const (
	// MaskTone replaces each tone with one flat 1 kHz tone, the same for every key.
	MaskTone MaskMode = iota
	// MaskSilence replaces tones with silence.
	MaskSilence
	// MaskComfortNoise replaces tones with low-level noise of a fixed level.
	MaskComfortNoise
	// MaskWindow replaces everything while the window is open with comfort
	// noise, hiding even the number of key presses.
	MaskWindow
)

var maskModeNames = [...]string{"tone", "silence", "comfort_noise", "window"}

func (m MaskMode) String() string {
	if m < 0 || int(m) >= len(maskModeNames) {
		return "unknown"
	}
	return maskModeNames[m]
}

// ParseMaskMode accepts tone, silence, comfort_noise or window.
func ParseMaskMode(s string) (MaskMode, error) {
	for i, n := range maskModeNames {
		if strings.EqualFold(s, n) {
			return MaskMode(i), nil
		}
	}
	return 0, fmt.Errorf("mask mode %q: %w", s, ErrBadConfig)
}

// SuppressorConfig tunes the suppressor; zero fields take defaults.
type SuppressorConfig struct {
	Mode       MaskMode
	Lookahead  time.Duration // delay while a window is open; default 40 ms, 15-200 ms
	Guard      time.Duration // masked before a tone's onset; default 20 ms
	Tail       time.Duration // masked after a tone's end; default 20 ms (4 slots), at least 10 ms
	ToneLevel  float64       // dBm0 of the 1 kHz masking tone; default -20
	NoiseLevel float64       // dBm0 rms of comfort noise; default -60
	Detector   DetectorConfig
}

func (c SuppressorConfig) withDefaults() SuppressorConfig {
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defDur(&c.Lookahead, 40*time.Millisecond)
	defDur(&c.Guard, 20*time.Millisecond)
	defDur(&c.Tail, 20*time.Millisecond)
	if c.ToneLevel == 0 {
		c.ToneLevel = -20
	}
	if c.NoiseLevel == 0 {
		c.NoiseLevel = -60
	}
	return c
}

// Validate checks the configuration after defaults are applied: the
// lookahead must cover the guard plus the slot in which a tone is first
// suspected, so the mask can start before the tone's first sample leaves.
func (c SuppressorConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case !finite(c.ToneLevel, c.NoiseLevel),
		c.Mode < MaskTone || c.Mode > MaskWindow,
		c.Lookahead > 200*time.Millisecond,
		c.Guard < 0 || c.Tail < 10*time.Millisecond,
		c.Lookahead < c.Guard+3*slotLen*time.Second/SampleRate,
		c.ToneLevel > 0 || c.NoiseLevel > 0:
		return fmt.Errorf("suppressor config: %w", ErrBadConfig)
	}
	return c.Detector.Validate()
}

// Suppressor removes keypad tones from one direction of a call. Outside a
// capture window it forwards input unchanged with no delay. While a window is
// open it delays the audio by the lookahead and replaces, from before its
// first sample to after its last, anything that might be a tone — on
// suspicion, long before the detector confirms a key. Digits are reported
// only when the detector confirms them. Not safe for concurrent use.
type Suppressor struct {
	par      *suppParams // shared by every suppressor with this config
	det      *Detector
	wire     []byte // lookahead line for ProcessG711: the payload's own bytes
	onWire   bool   // ProcessG711 drives this suppressor: wire is the line in use
	open     bool
	dpos     int   // next position in whichever line is in use
	openedAt int64 // stream index of the first input sample of the window
	sent     int64 // stream index of the next sample to leave the lookahead line
	stats    SuppressorStats
	plan     plan
	delay    []int16 // the lookahead line for Process, len = lookahead in samples
	noise    Noise   // comfort noise, in that mask mode

}

// suppParams are a suppressor's configuration and what is derived from it.
type suppParams struct {
	cfg    SuppressorConfig
	tone   [8]int16 // one period of the 1 kHz masking tone at its level
	noise0 Noise    // the comfort noise generator as each window starts it
}

var suppParamsOf interned[SuppressorConfig, suppParams]

func newSuppParams(cfg SuppressorConfig) *suppParams {
	p := &suppParams{cfg: cfg, noise0: *NewNoise(cfg.NoiseLevel, 0)}
	amp := float32(Amplitude(cfg.ToneLevel))
	for i, v := range maskTone {
		p.tone[i] = int16(amp * v)
	}
	return p
}

// SuppressorStats counts what the suppressor did; no digit appears here.
type SuppressorStats struct {
	Suspicions  int64 // slots suspected of holding a tone
	Masked      int64 // samples replaced (excluding window-open priming)
	Late        int64 // samples of a suspected slot already forwarded when it was suspected (a leak; should stay 0)
	Unsuspected int64 // confirmed keys that suspicion had not masked (should stay 0)
}

// NewSuppressor builds a suppressor with the window closed.
func NewSuppressor(cfg SuppressorConfig) (*Suppressor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	par := suppParamsOf.get(cfg, newSuppParams)
	return &Suppressor{
		par:   par,
		det:   NewDetector(cfg.Detector),
		delay: make([]int16, durationToSamples(cfg.Lookahead)),
		wire:  make([]byte, durationToSamples(cfg.Lookahead)),
		plan:  plan{guard: durationToSamples(cfg.Guard), tail: durationToSamples(cfg.Tail)},
		noise: par.noise0,
	}, nil
}

func durationToSamples(d time.Duration) int64 {
	return int64((d*SampleRate + time.Second/2) / time.Second)
}

// Config returns the effective configuration.
func (s *Suppressor) Config() SuppressorConfig { return s.par.cfg }

// Stats returns counters since creation.
func (s *Suppressor) Stats() SuppressorStats { return s.stats }

// Lookahead is the delay, in samples, while a window is open.
func (s *Suppressor) Lookahead() int { return len(s.delay) }

// Position is the number of samples the suppressor's detector has taken,
// the clock of Digit.Start.
func (s *Suppressor) Position() int64 { return s.det.Position() }

// IsOpen reports whether a capture window is open.
func (s *Suppressor) IsOpen() bool { return s.open }

// Open starts a capture window. From now on output lags input by the
// lookahead; the first lookahead of output is fill (silence, or comfort noise
// in the comfort_noise and window modes), since the audio it would repeat
// was already forwarded.
func (s *Suppressor) Open() {
	if s.open {
		return
	}
	clear(s.delay)
	clear(s.wire)
	s.dpos, s.open, s.openedAt = 0, true, s.det.Position()
	s.sent = s.openedAt - int64(len(s.delay))
	s.plan.reset(s.openedAt)
	s.noise = s.par.noise0
}

// Close ends the window. The audio still in the lookahead line is dropped,
// never forwarded (part of it may be a tone whose analysis is incomplete),
// and output returns at once to the live input with no added delay.
func (s *Suppressor) Close() {
	s.open = false
	s.plan.reset(s.det.Position())
	clear(s.delay)
	clear(s.wire)
}

// Process takes one packet of 8 kHz PCM and writes the packet to forward
// into out, which must have the same length and may be in itself (in
// place; any other overlap is wrong). Confirmed key presses are
// appended to digits (also outside windows, for interworking). It allocates
// nothing when digits has room.
func (s *Suppressor) Process(in, out []int16, digits []Digit) ([]Digit, error) {
	if len(out) != len(in) {
		return digits, ErrLengthMismatch
	}
	if !s.open {
		copy(out, in)
		return s.det.Process(in, digits), nil
	}
	first := s.det.Position()
	digits = s.analyze(in, digits)
	s.emit(in, out, first)
	return digits, nil
}

// Lost stands in for a packet that never arrived: the detector is told (a
// key held across the loss is reported once) and the len(out) samples due
// out of the lookahead line are written to out.
func (s *Suppressor) Lost(out []int16) {
	first := s.det.Position()
	s.det.Lost(len(out))
	if !s.open {
		clear(out)
		return
	}
	s.plan.skip(len(out))
	clear(out)
	s.emit(out, out, first)
}

// analyze feeds the detector slot by slot and checks every completed slot
// for a suspected tone.
func (s *Suppressor) analyze(in []int16, digits []Digit) []Digit {
	var acc [maxPre]slotAcc // whole slots, computed in a batch on this stack
	for len(in) > 0 {
		if k := s.det.bank.ahead(in, acc[:]); k > 0 {
			for i := range k {
				mark := len(digits)
				digits = s.det.take(&acc[i], digits)
				if s.plan.pos%blockLen == 0 && s.plan.acc == 0 {
					s.plan.feedBlocks(&acc[i].blocks) // the kernel's block energies
				} else {
					s.plan.feed(in[i*slotLen : (i+1)*slotLen])
				}
				s.slotDone(digits[mark:])
			}
			in = in[k*slotLen:]
			continue
		}
		n := min(len(in), slotLen-s.det.bank.fill)
		mark := len(digits)
		digits = s.det.Process(in[:n], digits)
		s.plan.feed(in[:n])
		if s.det.bank.fill == 0 { // keys are confirmed only as a slot completes
			s.slotDone(digits[mark:])
		}
		in = in[n:]
	}
	return digits
}

// slotDone checks the slot just completed for a suspected tone, then masks
// any key confirmed with it that suspicion missed.
func (s *Suppressor) slotDone(digits []Digit) {
	s.onSlot()
	for _, d := range digits {
		s.onDigit(d)
	}
}

// onDigit is a safety net: a confirmed key that suspicion somehow missed is
// masked from its start (and counted as Unsuspected; if its start was
// already forwarded, as Late too).
func (s *Suppressor) onDigit(d Digit) {
	at := d.Start
	if d.End {
		at = max(d.Start+d.Duration-slotLen, s.sent)
	}
	if s.plan.covered(at) {
		return
	}
	s.stats.Unsuspected++
	if at < s.sent {
		s.stats.Late += s.sent - at
	}
	s.plan.suspect(max(at, s.sent), d.At, float32(Amplitude(-10)*Amplitude(-10))*slotLen, s.sent)
}

// onSlot masks the slot just completed if it, alone or with the slot before
// it, looks like part of a dual tone.
func (s *Suppressor) onSlot() {
	cur := s.det.lastSlot()
	prev := &s.det.hist[(s.det.head+windowSlots-2)%windowSlots]
	contiguous := s.det.filled >= 2 && prev.start+slotLen == cur.start
	switch {
	case suspicious(cur, s.det.bank.row, s.det.bank.col):
		s.suspect(cur.start, cur.energy)
	case contiguous && pairSuspicious(prev, cur):
		s.suspect(prev.start, prev.energy+cur.energy)
	}
}

func (s *Suppressor) suspect(start int64, energy float32) {
	s.stats.Suspicions++
	end := s.det.Position()
	if start < s.sent {
		s.stats.Late += min(s.sent, end) - start
	}
	s.plan.suspect(start, end, energy, s.sent)
}

// emit writes the packet's output: the input delayed by the lookahead, with
// masked samples replaced. first is the stream index of in[0]; in and out
// may be the same slice.
func (s *Suppressor) emit(in, out []int16, first int64) {
	L := len(s.delay)
	for len(in) > 0 {
		n := min(len(in), L-s.dpos)
		seg := s.delay[s.dpos : s.dpos+n]
		if &in[0] == &out[0] {
			swap(out[:n], seg)
		} else {
			copy(out[:n], seg)
			copy(seg, in[:n])
		}
		s.dpos = (s.dpos + n) % L
		s.maskRun(out[:n], first-int64(L))
		in, out, first = in[n:], out[n:], first+int64(n)
	}
}

// swap exchanges a and b (of equal length) through a stack buffer: copies
// beat a loop.
func swap[T int16 | byte](a, b []T) {
	var tmp [swapChunk]T
	for len(a) > 0 {
		k := copy(tmp[:], a)
		copy(a[:k], b[:k])
		copy(b[:k], tmp[:k])
		a, b = a[k:], b[k:]
	}
}

// swapChunk bounds the stack buffers of swap and of maskRunG711.
const swapChunk = 160

// maskRun replaces what must not be forwarded in out, whose first sample
// is stream index tau.
func (s *Suppressor) maskRun(out []int16, tau int64) {
	s.sent = tau + int64(len(out))
	for len(out) > 0 {
		n, what := s.nextRun(tau, len(out))
		switch what {
		case runPrime:
			s.prime(out[:n])
		case runMask:
			s.fill(out[:n], tau)
		}
		out, tau = out[n:], tau+int64(n)
	}
}

// runKind is what goes out for a run of samples leaving the lookahead line.
type runKind uint8

const (
	runPass  runKind = iota // the delayed input itself
	runPrime                // fill while the line fills after Open
	runMask                 // the masking
)

// nextRun is the run of at most n output samples starting at stream index
// tau: its length and what goes out for it. Masked runs are counted.
func (s *Suppressor) nextRun(tau int64, n int) (int, runKind) {
	if tau < s.openedAt {
		return int(min(int64(n), s.openedAt-tau)), runPrime
	}
	if s.par.cfg.Mode != MaskWindow {
		masked, until := s.plan.run(tau)
		n = int(min(int64(n), until-tau))
		if !masked {
			return n, runPass
		}
	}
	s.stats.Masked += int64(n)
	return n, runMask
}

// fill writes the replacement for out, whose first sample is stream index
// tau. It depends only on tau and on how many samples were masked before,
// never on what was replaced.
func (s *Suppressor) fill(out []int16, tau int64) {
	switch s.par.cfg.Mode {
	case MaskTone:
		for i := range out {
			out[i] = s.par.tone[(tau+int64(i))&7]
		}
	case MaskSilence:
		clear(out)
	default:
		s.noise.Read(out)
	}
}

// prime is what goes out while the lookahead line fills after Open.
func (s *Suppressor) prime(out []int16) {
	if s.par.cfg.Mode == MaskComfortNoise || s.par.cfg.Mode == MaskWindow {
		s.noise.Read(out)
		return
	}
	clear(out)
}

// Suspicion thresholds: the strongest row and column bins hold this share
// of a slot's energy (of two slots' for the finer 10 ms test), the weaker at
// least suspectMinor of it (so twist up to about 17 dB). Lower shares mask
// more speech; these keep every generated tone hidden (suppressor tests)
// while masking about 12 % of continuous speech on suspicion (talk-off test).
const (
	suspectShare = 0.7
	pairShare    = 0.6
	suspectMinor = 0.02
)

// suspectFloor is the least slot energy examined: a single tone at -65 dBm0.
var suspectFloor = float32(Amplitude(-65) * Amplitude(-65) / 2 * slotLen)

// suspicious reports whether one 5 ms slot looks like (part of) a dual
// tone. row and col are its strongest row and column bins' |X|² (maxBits),
// which the detector has already computed; a tone filling the slot has
// energy 2|X|²/N, so the shares are compared with the slot's energy times
// N/2.
func suspicious(sl *slot, row, col uint32) bool {
	if sl.energy < suspectFloor {
		return false
	}
	return dominant(row, col, sl.energy*slotLen/2, suspectShare)
}

// pairSuspicious does the same over two adjacent slots (10 ms, finer bins).
func pairSuspicious(a, b *slot) bool {
	e := a.energy + b.energy
	if e < 2*suspectFloor {
		return false
	}
	row, col := pairPow(a, b)
	return dominant(row, col, e*slotLen, pairShare)
}

// dominant reports whether the strongest row and column bins, whose
// powers' bit patterns are row and col (maxBits), hold share of the energy
// (in the bins' |X|² scale), the weaker at least suspectMinor.
func dominant(row, col uint32, energy, share float32) bool {
	rf, cf := math.Float32frombits(row), math.Float32frombits(col)
	return rf+cf >= share*energy && math.Float32frombits(min(row, col)) >= suspectMinor*energy
}
