package dtmf

import (
	"fmt"
	"math"
	"math/cmplx"
	"time"
)

// DetectorConfig tunes the in-band detector. The zero value gives the
// defaults, which meet ITU-T Q.24 (AT&T/Bellcore); see docs/dtmf.md.
type DetectorConfig struct {
	MinLevel      float64 // dBm0 per tone; default -28 (Q.24: detect to -25, reject at -55)
	FreqTolerance float64 // fraction of nominal; default 0.02 (Q.24: detect ±1.5 %, reject ±3.5 %)
	HighTwist     float64 // dB the column (high) tone may exceed the row; default 5.5 (Q.24: detect +4)
	LowTwist      float64 // dB the row (low) tone may exceed the column; default 9.5 (Q.24: detect 8)
	MinEnergy     float64 // share of window energy the two tones must hold; default 0.7
	MinWindows    int     // valid 20 ms windows (5 ms apart) to report a key; default 5
	EndWindows    int     // consecutive invalid windows that release a key; default 7
	// MinDuration is how long a tone must have lasted, from its estimated
	// first sample to its estimated end so far, to be reported; default
	// 37 ms (Q.24: detect from 40 ms). At most 60 ms. The edge estimates are
	// good to about 1 ms, so tones from MinDuration+1 ms are reported and
	// none below MinDuration-3 ms; a longer default would leave no margin to
	// report within 40 ms + one packet of the start.
	MinDuration time.Duration
}

// Validate rejects out-of-range values; zero values mean "default".
func (c DetectorConfig) Validate() error {
	switch {
	case !finite(c.MinLevel, c.FreqTolerance, c.HighTwist, c.LowTwist, c.MinEnergy),
		c.MinLevel > 0,
		c.FreqTolerance < 0 || c.FreqTolerance > 0.05,
		c.HighTwist < 0 || c.LowTwist < 0,
		c.MinEnergy < 0 || c.MinEnergy >= 1,
		c.MinWindows < 0 || c.MinWindows > 40,
		c.EndWindows < 0 || c.EndWindows > 40,
		c.MinDuration < 0 || c.MinDuration > 60*time.Millisecond:
		return fmt.Errorf("detector config: %w", ErrBadConfig)
	}
	return nil
}

func (c DetectorConfig) withDefaults() DetectorConfig {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MinLevel, -28)
	def(&c.FreqTolerance, 0.02)
	def(&c.HighTwist, 5.5)
	def(&c.LowTwist, 9.5)
	def(&c.MinEnergy, 0.7)
	if c.MinWindows == 0 {
		c.MinWindows = 5
	}
	if c.EndWindows == 0 {
		c.EndWindows = 7
	}
	if c.MinDuration == 0 {
		c.MinDuration = 37 * time.Millisecond
	}
	return c
}

// Digit is one detector event. A key press gives two: one when the key is
// recognised (End false, Duration 0) and one when it is released (End true).
// Sample positions count from the first sample the detector was given,
// including samples announced with Lost.
type Digit struct {
	Key      Key
	Start    int64 // first sample of the tone (estimated to about 1 ms)
	Duration int64 // samples, on the End event
	End      bool
	At       int64 // stream position when the event was decided (latency = At - Start)
}

// StartTime is Start as a time offset.
func (d Digit) StartTime() time.Duration { return samplesToDuration(d.Start) }

// DurationTime is Duration as a time.Duration.
func (d Digit) DurationTime() time.Duration { return samplesToDuration(d.Duration) }

func samplesToDuration(n int64) time.Duration { return time.Duration(n) * time.Second / SampleRate }

// windowSlots is the detection window: 4 slots, 20 ms, 160 samples.
const (
	windowSlots = 4
	windowLen   = windowSlots * slotLen
)

// Detector finds DTMF keys in 8 kHz linear PCM. It takes any number of
// samples per call; tones need not align with calls. Not safe for concurrent use.
type Detector struct {
	par     *detParams // shared by every detector with this config
	head    int32      // next write position in hist
	filled  int32      // contiguous slots in hist (capped at windowSlots)
	modelOK bool       // model holds the last valid window's tones
	npows   int64      // slots ever written to pows
	cur     press      // the key currently down, if any
	cand    press      // a key being confirmed
	bank    bank
	hist    [windowSlots]slot // ring of the last slots
	pows    [powRing]slotPow  // longer ring of bin powers, for tone edges
	model   toneModel         // the last valid window's two-tone model
}

// detParams are a detector's configuration and the limits derived from it.
type detParams struct {
	cfg DetectorConfig
	lim limits
}

var detParamsOf interned[DetectorConfig, detParams]

// powRing slots (160 ms) of bin powers are kept to find a tone's edges.
const powRing = 32

// slotPow is one slot's bin powers |X|².
type slotPow struct {
	start int64
	pw    [numBins]float32
}

// limits are the config in the units the hot path compares.
type limits struct {
	minAmp2     float64 // squared amplitude of a tone at MinLevel
	highTwist   float64 // power ratio col/row
	lowTwist    float64 // power ratio row/col
	minEnergy   float64
	floorEnergy float32 // window energy below which nothing is evaluated
	minDur      int64   // MinDuration in samples
}

// press tracks one key through its valid windows.
type press struct {
	lastWs int64   // start of the latest valid window
	start  int64   // the tone's first sample, once reported
	n      int32   // valid windows (held at MaxInt32: a key held for months)
	miss   int32   // invalid windows since the last valid one
	ref    float32 // slot amplitude of the full tone
	key    Key
}

// NewDetector returns a detector; zero config fields take defaults.
func NewDetector(cfg DetectorConfig) *Detector {
	return &Detector{par: detParamsOf.get(cfg.withDefaults(), newDetParams)}
}

func newDetParams(cfg DetectorConfig) *detParams {
	a := Amplitude(cfg.MinLevel)
	return &detParams{cfg: cfg, lim: limits{
		minAmp2:     a * a,
		highTwist:   math.Pow(10, cfg.HighTwist/10),
		lowTwist:    math.Pow(10, cfg.LowTwist/10),
		minEnergy:   cfg.MinEnergy,
		floorEnergy: float32(a * a * windowLen / 2),
		minDur:      int64(cfg.MinDuration * SampleRate / time.Second),
	}}
}

// Defaults returns c with its zero fields set to their defaults.
func (c DetectorConfig) Defaults() DetectorConfig { return c.withDefaults() }

// Config returns the effective configuration.
func (d *Detector) Config() DetectorConfig { return d.par.cfg }

// Position is the stream index of the next sample.
func (d *Detector) Position() int64 { return d.bank.position() }

// Process consumes pcm and appends any events to out, which it returns.
// It allocates nothing when out has room.
func (d *Detector) Process(pcm []int16, out []Digit) []Digit {
	var acc [maxPre]slotAcc
	for len(pcm) > 0 {
		if k := d.bank.ahead(pcm, acc[:]); k > 0 {
			for i := range k {
				out = d.take(&acc[i], out)
			}
			pcm = pcm[k*slotLen:]
			continue
		}
		n, done := d.bank.feed(pcm, &d.hist[d.head], &d.pows[d.npows%powRing].pw)
		pcm = pcm[n:]
		if done {
			out = d.slotDone(out)
		}
	}
	return out
}

// Lost tells the detector that n samples went missing (a lost packet). The
// missing stretch neither starts nor ends a key: a key held across it is
// reported once.
func (d *Detector) Lost(n int) {
	if n <= 0 {
		return
	}
	d.bank.reset(d.bank.position() + int64(n))
	d.modelOK = false
	d.filled = 0
}

// Flush ends a key still down (end of a file) and appends its End event.
func (d *Detector) Flush(out []Digit) []Digit {
	if d.cur.key != 0 {
		out = d.release(out, d.bank.position())
	}
	d.cand = press{}
	return out
}

// Reset forgets all state and restarts sample positions at zero.
func (d *Detector) Reset() {
	*d = Detector{par: d.par}
}

// lastSlot is the slot that completed most recently.
func (d *Detector) lastSlot() *slot {
	return &d.hist[(d.head+windowSlots-1)%windowSlots]
}

// take keeps a slot the bank computed ahead and evaluates it.
func (d *Detector) take(a *slotAcc, out []Digit) []Digit {
	d.bank.take(a, &d.hist[d.head], &d.pows[d.npows%powRing].pw)
	return d.slotDone(out)
}

// slotDone advances the rings, the slot and its powers written (by finish),
// and evaluates the window ending at this slot.
func (d *Detector) slotDone(out []Digit) []Digit {
	s := &d.hist[d.head]
	d.pows[d.npows%powRing].start = s.start
	d.npows++
	end := s.start + slotLen
	d.head = (d.head + 1) % windowSlots
	d.filled = min(d.filled+1, windowSlots)
	if d.filled < windowSlots {
		return out
	}
	return d.track(d.evaluate(), end-windowLen, end, out)
}

// track runs the key state machine for one window starting at ws.
func (d *Detector) track(key Key, ws, now int64, out []Digit) []Digit {
	if d.cur.key != 0 && key == d.cur.key {
		d.cur.valid(ws)
		d.cand = press{}
		return out
	}
	if d.cur.key != 0 {
		d.cur.miss++
	}
	d.candidate(key, ws)
	if d.cand.key != 0 && int(d.cand.n) >= d.par.cfg.MinWindows && d.longEnough(now) {
		if d.cur.key != 0 {
			out = d.release(out, now)
		}
		return d.begin(out, now)
	}
	if d.cur.key != 0 && int(d.cur.miss) >= d.par.cfg.EndWindows {
		out = d.release(out, now)
	}
	return out
}

// candidate counts valid windows of a key not yet reported; one invalid
// window inside the run is tolerated.
func (d *Detector) candidate(key Key, ws int64) {
	switch {
	case key == 0:
		if d.cand.key != 0 {
			d.cand.miss++
			if d.cand.miss > 1 {
				d.cand = press{}
			}
		}
	case key == d.cand.key:
		d.cand.valid(ws)
	default:
		d.cand = press{key: key}
		d.cand.valid(ws)
	}
}

// valid records a valid window of this press.
func (p *press) valid(ws int64) {
	if p.n < math.MaxInt32 {
		p.n++
	}
	p.miss = 0
	p.lastWs = ws
}

// begin reports the candidate as the key now down.
func (d *Detector) begin(out []Digit, now int64) []Digit {
	p := d.cand
	p.miss = 0
	p.ref = d.refAmp(p.key, p.lastWs)
	p.start = d.edgeStart(p)
	d.cur, d.cand = p, press{}
	return append(out, Digit{Key: p.key, Start: p.start, At: now})
}

// longEnough reports whether the candidate's tone has lasted MinDuration:
// from its estimated first sample to its estimated end so far, which is the
// end of the newest slot while the tone goes on, or inside the last two
// slots where it stops. Asked again at each slot while the candidate stands,
// a tone is reported at the first slot boundary past start+MinDuration, and
// a shorter one never.
func (d *Detector) longEnough(now int64) bool {
	p := d.cand
	p.ref = d.refAmp(p.key, p.lastWs)
	last, prev := d.findPow(now-slotLen), d.findPow(now-2*slotLen)
	if last == nil || prev == nil {
		return false
	}
	fl := d.fraction(last, now, p)
	fp := d.fraction(prev, last.start, p)
	end := prev.start + int64(min(fp+fl, 2)*slotLen)
	return end-d.edgeStart(p) >= d.par.lim.minDur
}

// release reports the current key's end.
func (d *Detector) release(out []Digit, now int64) []Digit {
	p := d.cur
	d.cur = press{}
	end := d.edgeEnd(p)
	return append(out, Digit{Key: p.key, Start: p.start, Duration: max(end-p.start, 0), End: true, At: now})
}

// slotAmp is the key's row plus column amplitude in a slot (|X| units).
func slotAmp(p *slotPow, k Key) float32 {
	r, c, _ := k.position()
	return float32(math.Sqrt(float64(p.pw[r])) + math.Sqrt(float64(p.pw[4+c])))
}

// findPow returns the ring entry for the slot starting at start, if kept.
func (d *Detector) findPow(start int64) *slotPow {
	if d.npows == 0 {
		return nil
	}
	// Slots are contiguous unless packets were lost: try the slot's place
	// first, then search.
	newest := &d.pows[(d.npows-1)%powRing]
	if back := (newest.start - start) / slotLen; back >= 0 && back < min(d.npows, powRing) {
		if p := &d.pows[(d.npows-1-back)%powRing]; p.start == start {
			return p
		}
	}
	for i := int64(1); i <= min(d.npows, powRing); i++ {
		p := &d.pows[(d.npows-i)%powRing]
		if p.start == start {
			return p
		}
		if p.start < start {
			return nil
		}
	}
	return nil
}

// refAmp is the mean slot amplitude over a fully covered window at ws.
func (d *Detector) refAmp(k Key, ws int64) float32 {
	var sum float32
	for i := range int64(windowSlots) {
		if p := d.findPow(ws + i*slotLen); p != nil {
			sum += slotAmp(p, k)
		}
	}
	return sum / windowSlots
}

// fraction is how much of slot sp the tone fills, from its amplitude between
// the floor (the slot at outside, beyond the edge, when kept) and the full
// tone's reference.
func (d *Detector) fraction(sp *slotPow, outside int64, p press) float32 {
	a, floor := slotAmp(sp, p.key), float32(0)
	if o := d.findPow(outside); o != nil && slotAmp(o, p.key) < p.ref/2 {
		floor = min(slotAmp(o, p.key), a)
	}
	if p.ref <= floor {
		return 0
	}
	return min(max((a-floor)/(p.ref-floor), 0), 1)
}

// edgeStart walks back from the latest valid window to the first slot where
// the tone's amplitude is below half. The onset lies in that slot or the next
// (newer) one; a tone filling the last L samples of a slot has L/N of the
// full amplitude, so the two fractions add up to the tone's share of them.
func (d *Detector) edgeStart(p press) int64 {
	at, inner := p.lastWs, float32(1)
	for {
		sp := d.findPow(at - slotLen)
		if sp == nil {
			return at
		}
		f := d.fraction(sp, sp.start-slotLen, p)
		if f < 0.5 {
			return at + slotLen - int64(min(f+inner, 2)*slotLen)
		}
		at, inner = sp.start, min(f, 1)
	}
}

// edgeEnd walks forward from the latest valid window in the same way.
func (d *Detector) edgeEnd(p press) int64 {
	at, inner := p.lastWs, float32(1)
	for {
		sp := d.findPow(at + slotLen)
		if sp == nil {
			return at + slotLen
		}
		f := d.fraction(sp, sp.start+slotLen, p)
		if f < 0.5 {
			return at + int64(min(f+inner, 2)*slotLen)
		}
		at, inner = sp.start, min(f, 1)
	}
}

// evaluate checks the 20 ms window of the last four slots against the Q.24
// criteria and returns its key (0 for none) and the two tones' energy share.
func (d *Detector) evaluate() Key {
	var s [windowSlots]*slot
	var energy float32
	for i := range windowSlots {
		s[i] = &d.hist[(int(d.head)+i)%windowSlots]
		energy += s[i].energy
	}
	if energy < d.par.lim.floorEnergy {
		d.modelOK = false
		return 0
	}
	r, c, top := windowPow(s[0], s[1], s[2], s[3])
	if 2*top/windowLen < 0.2*energy {
		d.modelOK = false
		return 0
	}
	ar2, ac2, ok := d.model.tones(&d.modelOK, pairBin(s[0], s[1], r), pairBin(s[2], s[3], r), pairBin(s[0], s[1], c), pairBin(s[2], s[3], c), r, c, d.par.cfg.FreqTolerance)
	if !ok {
		return 0
	}
	if !d.par.lim.accept(ar2, ac2, float64(energy)) {
		return 0
	}
	return keypad[r][c-4]
}

// accept applies the level, twist and energy-share checks.
func (l *limits) accept(ar2, ac2, energy float64) bool {
	return ar2 >= l.minAmp2 && ac2 >= l.minAmp2 &&
		ac2 <= ar2*l.highTwist && ar2 <= ac2*l.lowTwist &&
		(ar2+ac2)*windowLen/2 >= l.minEnergy*energy
}

// toneModel is the two-tone leakage model of the last valid window, kept
// while the same row and column stay valid (a key held down): its tones'
// frequencies change by no more than noise from one window to the next, so
// the model is rebuilt only when they move by more than modelSlack. Whether
// it holds is kept apart (Detector.modelOK), so that a window nowhere near a
// key never reads it.
type toneModel struct {
	r, c   int
	dr, dc float64 // the offsets the kernels were built for
	k      kernels
}

// modelSlack is how far (rad/sample; about 1.3 Hz) a tone may drift from
// the kernels' frequency before they are rebuilt. The kernels' gain changes
// by well under 0.01 dB over it.
const modelSlack = 1e-3

// tones measures the row and column tones of a window from its two 10 ms
// halves: each tone's frequency from its phase advance between the halves
// (rejected outside tol), and its squared amplitude. A first frequency
// estimate from the raw bins sets up a joint solve of both tones in each
// half, which cancels the strong tone's leakage into the weak tone's bin
// (otherwise up to ±1 dB of twist error); the frequencies are then measured
// again on the cleaned values. While the same key stays valid (*valid, the
// model's flag), the model of the window before stands in for the first
// estimate.
func (m *toneModel) tones(valid *bool, h1r, h2r, h1c, h2c complex64, r, c int, tol float64) (ar2, ac2 float64, ok bool) {
	if !*valid || m.r != r || m.c != c {
		dr, dc := phaseStep(complex128(h1r), complex128(h2r), r), phaseStep(complex128(h1c), complex128(h2c), c)
		if !within(dr, r, tol+0.01) || !within(dc, c, tol+0.01) {
			*valid = false
			return 0, 0, false
		}
		*m, *valid = toneModel{r: r, c: c, dr: dr, dc: dc, k: newKernels(r, c, dr, dc, windowLen/2)}, true
	}
	a1, b1 := m.k.solve(h1r, h1c, r, c)
	a2, b2 := m.k.solve(h2r, h2c, r, c)
	dr, dc := phaseStep(a1, a2, r), phaseStep(b1, b2, c)
	if !within(dr, r, tol) || !within(dc, c, tol) {
		*valid = false
		return 0, 0, false
	}
	if math.Abs(dr-m.dr) > modelSlack || math.Abs(dc-m.dc) > modelSlack {
		m.dr, m.dc, m.k = dr, dc, newKernels(r, c, dr, dc, windowLen/2)
	}
	ar, ac := cmplx.Abs(a1)+cmplx.Abs(a2), cmplx.Abs(b1)+cmplx.Abs(b2) // 2|a| averaged over halves
	return ar * ar, ac * ac, true
}

// phaseStep is a tone's offset from bin k (rad/sample) given its complex
// values in two consecutive 80-sample halves, each referenced to its start.
func phaseStep(first, second complex128, k int) float64 {
	rot := complex128(complex(coef.rotRe[k], coef.rotIm[k]))
	z := second * cmplx.Conj(first) * rot * rot
	return math.Atan2(imag(z), real(z)) / (windowLen / 2)
}

func within(dw float64, k int, tol float64) bool {
	return math.Abs(dw*SampleRate/(2*math.Pi)) <= tol*binHz[k]
}

// kernels is the 2x2 leakage model of two tones (at row bin r + dr and
// column bin c + dc) seen through n-sample DFTs at the two bins:
//
//	W_r = a·g11 + b·g12,  W_c = a·g21 + b·g22,  g = Σ e^{j(ω_tone-ω_bin)m}
//
// with a, b half the tones' complex amplitudes.
type kernels struct{ g11, g12, g21, g22, det complex128 }

func newKernels(r, c int, dr, dc float64, n int) kernels {
	// The tones are at ω_r+dr and ω_c+dc: seen from the other bin, their
	// offsets are ±(ω_c−ω_r) plus their own, so two sincos give all four.
	ur, uc := expHalf(dr), expHalf(dc)
	cross := halfRot[c] * cmplx.Conj(halfRot[r]) // e^{j(ω_c−ω_r)/2}
	k := kernels{
		g11: dirichletU(ur, n), g12: dirichletU(uc*cross, n),
		g21: dirichletU(ur*cmplx.Conj(cross), n), g22: dirichletU(uc, n),
	}
	k.det = k.g11*k.g22 - k.g12*k.g21
	return k
}

// solve returns (a, b) for bin values wr, wc (in the bank's phase convention).
func (k kernels) solve(wr, wc complex64, r, c int) (complex128, complex128) {
	if cmplx.Abs(k.det) < 1e-9 {
		return 0, 0
	}
	Wr := complex128(wr) * complex128(coef.ref[r])
	Wc := complex128(wc) * complex128(coef.ref[c])
	return (Wr*k.g22 - k.g12*Wc) / k.det, (k.g11*Wc - k.g21*Wr) / k.det
}

func sq(z complex128) float64 { return real(z)*real(z) + imag(z)*imag(z) }
