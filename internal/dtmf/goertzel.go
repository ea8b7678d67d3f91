package dtmf

import "math"

// slotLen is the analysis step: 5 ms at 8 kHz. Everything downstream (the
// detector's 20 ms windows, the suppressor's suspicion) works in slots, so
// tones need not line up with packets.
const slotLen = 40

// numBins is the 8 DTMF frequencies: 4 rows then 4 columns.
const numBins = 8

// binHz are the Goertzel frequencies, rows first.
var binHz = [numBins]float64{697, 770, 852, 941, 1209, 1336, 1477, 1633}

// slot is the analysis of one 5 ms slot: for each DTMF frequency the complex
// Goertzel (DFT) value of the slot's samples, referenced to the slot's first
// sample up to a per-frequency constant, and the slot's energy.
type slot struct {
	re, im [numBins]float32
	energy float32
	start  int64 // index of the slot's first sample in the stream
}

// pairBin is bin k over two adjacent slots, a then b (10 ms): b's value
// turned to a's phase reference and added.
func pairBin(a, b *slot, k int) complex64 {
	re := a.re[k] + float32(b.re[k]*coef.rotRe[k]) - float32(b.im[k]*coef.rotIm[k])
	im := a.im[k] + float32(b.re[k]*coef.rotIm[k]) + float32(b.im[k]*coef.rotRe[k])
	return complex(re, im)
}

// bankCoef are per-frequency constants: 2cos(ω), cos(ω), sin(ω) and the
// rotation e^{-jωN} that moves a slot's value one slot later.
type bankCoef struct {
	twoCos, cos, sin [numBins]float32
	rotRe, rotIm     [numBins]float32
	rot2Re, rot2Im   [numBins]float32 // e^{-jω2N}, e^{-jω3N}: two and three slots later
	rot3Re, rot3Im   [numBins]float32
	w                [numBins]float64   // ω, rad/sample
	ref              [numBins]complex64 // e^{-jω(N-1)}: undoes finish's phase factor
}

var coef = newBankCoef()

func newBankCoef() bankCoef {
	var c bankCoef
	for k, f := range binHz {
		w := 2 * math.Pi * f / SampleRate
		c.twoCos[k] = float32(2 * math.Cos(w))
		c.cos[k] = float32(math.Cos(w))
		c.sin[k] = float32(math.Sin(w))
		c.rotRe[k] = float32(math.Cos(w * slotLen))
		c.rotIm[k] = float32(-math.Sin(w * slotLen))
		c.rot2Re[k], c.rot2Im[k] = float32(math.Cos(2*w*slotLen)), float32(-math.Sin(2*w*slotLen))
		c.rot3Re[k], c.rot3Im[k] = float32(math.Cos(3*w*slotLen)), float32(-math.Sin(3*w*slotLen))
		c.w[k] = w
		c.ref[k] = complex(float32(math.Cos(w*(slotLen-1))), float32(-math.Sin(w*(slotLen-1))))
	}
	return c
}

// bank runs the 8 Goertzel recursions over a stream, slot by slot, carrying
// partial-slot state across calls. Whole slots at a slot boundary are
// computed in one batch instead (ahead), then taken in stream order (take).
type bank struct {
	fill  int   // samples of the current slot seen so far
	start int64 // stream index of the current slot's first sample
	// The largest row and column power of the slot finished last
	// (maxBits), for the suppressor's suspicion.
	row, col uint32
	// The recursion state of a partial slot (feed); ahead and take leave it
	// at the zero reset left.
	s1, s2 [numBins]float32
	energy int64                     // Σx² of the current block so far, exact
	blocks [slotLen / blockLen]int64 // energies of the slot's blocks
}

// maxPre is the most slots computed in one batch: 40 ms, two 20 ms packets.
const maxPre = 8

// ahead runs the kernel over the whole slots at the start of pcm, at most
// len(acc) of them, when the bank stands at a slot boundary, and returns how
// many it computed (0 inside a slot). The caller keeps acc, on its stack, and
// hands each to take in order before feeding anything else: the bank's own
// state moves only then, so no slot is stored twice.
func (b *bank) ahead(pcm []int16, acc []slotAcc) int {
	if b.fill != 0 {
		return 0
	}
	k := min(len(pcm)/slotLen, len(acc))
	if k > 0 {
		goertzelSlots(pcm[:k*slotLen], acc[:k])
	}
	return k
}

// take finishes a slot that ahead computed into out, where it is kept, with
// its powers into pw, and moves the bank past it (the recursion state is
// still the zero reset left).
func (b *bank) take(a *slotAcc, out *slot, pw *[numBins]float32) {
	b.row, b.col = a.finish(out, pw)
	out.start = b.start
	b.start += slotLen
}

// feed consumes samples until the current slot completes or pcm runs out. It
// returns how many samples it used and whether a slot completed (then out and
// its powers pw are filled and the bank starts the next slot).
func (b *bank) feed(pcm []int16, out *slot, pw *[numBins]float32) (used int, done bool) {
	n := min(len(pcm), slotLen-b.fill)
	for i := 0; i < n; {
		m := min(n-i, blockLen-b.fill%blockLen)
		b.run(pcm[i : i+m])
		b.fill, i = b.fill+m, i+m
		if b.fill%blockLen == 0 {
			b.blocks[b.fill/blockLen-1], b.energy = b.energy, 0
		}
	}
	if b.fill < slotLen {
		return n, false
	}
	acc := slotAcc{s1: b.s1, s2: b.s2, blocks: b.blocks}
	b.row, b.col = acc.finish(out, pw)
	out.start = b.start
	b.reset(b.start + slotLen)
	return n, true
}

// run is the scalar inner loop for partial slots: the eight recursions are
// independent, so doing them together keeps the multiply-add latency of one
// hidden by the others. Each step is exactly goertzelSlots' (see slotAcc).
func (b *bank) run(pcm []int16) {
	c := &coef.twoCos
	a1, a2, b1, b2 := b.s1[0], b.s2[0], b.s1[1], b.s2[1]
	d1, d2, e1, e2 := b.s1[2], b.s2[2], b.s1[3], b.s2[3]
	f1, f2, g1, g2 := b.s1[4], b.s2[4], b.s1[5], b.s2[5]
	h1, h2, i1, i2 := b.s1[6], b.s2[6], b.s1[7], b.s2[7]
	e := b.energy
	for _, v := range pcm {
		e += int64(v) * int64(v)
		x := float32(v)
		// float32(…) keeps each product rounded on its own: no fused
		// multiply-add, whatever GOAMD64 says, so a slot fed in pieces
		// matches one computed whole.
		a1, a2 = (x-a2)+float32(c[0]*a1), a1
		b1, b2 = (x-b2)+float32(c[1]*b1), b1
		d1, d2 = (x-d2)+float32(c[2]*d1), d1
		e1, e2 = (x-e2)+float32(c[3]*e1), e1
		f1, f2 = (x-f2)+float32(c[4]*f1), f1
		g1, g2 = (x-g2)+float32(c[5]*g1), g1
		h1, h2 = (x-h2)+float32(c[6]*h1), h1
		i1, i2 = (x-i2)+float32(c[7]*i1), i1
	}
	b.s1, b.s2 = [numBins]float32{a1, b1, d1, e1, f1, g1, h1, i1}, [numBins]float32{a2, b2, d2, e2, f2, g2, h2, i2}
	b.energy = e
}

// slotAcc is the recursion state at the end of one whole slot, as
// goertzelSlots leaves it: the two last outputs per frequency and the energy of
// each 1 ms block.
type slotAcc struct {
	s1, s2 [numBins]float32
	blocks [slotLen / blockLen]int64
}

// finish turns the recursion state
// into the slot's values (all but start; the block energies stay in a, for
// the suppressor's mask plan) and their powers |X|² into pw, and returns
// the largest row and column power (maxBits).
// X·e^{jω(N-1)} = s1 - e^{-jω}s2; the constant phase factor is the same for
// every slot, so windows built from slots keep their magnitudes and phase
// differences. Here and below float32(…) keeps each product rounded on its
// own, whatever GOAMD64 allows the compiler to fuse, so results do not
// depend on the build.
func (a *slotAcc) finish(out *slot, pw *[numBins]float32) (row, col uint32) {
	for k := range numBins {
		re, im := a.s1[k]-float32(coef.cos[k]*a.s2[k]), coef.sin[k]*a.s2[k]
		out.re[k], out.im[k] = re, im
		pw[k] = float32(re*re) + float32(im*im)
	}
	var e int64
	for _, b := range a.blocks {
		e += b
	}
	out.energy = float32(e)
	return maxBits(pw)
}

// maxBits are the largest of the row bins' powers and of the column bins',
// as bit patterns: for non-negative floats those order as the values do,
// and an integer max is one compare and move where a float max pays for
// NaN and signed zeros.
func maxBits(pw *[numBins]float32) (row, col uint32) {
	b := func(k int) uint32 { return math.Float32bits(pw[k]) }
	return max(b(0), b(1), b(2), b(3)), max(b(4), b(5), b(6), b(7))
}

// windowPow is, of the 20 ms window of slots s0..s3, each
// slot's value turned to s0's phase reference (Σ s_i·rot^i, the powers of
// rot precomputed) and summed, the strongest row bin r and column bin c
// (the first, on a tie) and their powers' sum.
func windowPow(s0, s1, s2, s3 *slot) (r, c int, top float32) {
	var pw [numBins]float32
	k := &coef
	for i := range numBins {
		re := s0.re[i] + float32(s1.re[i]*k.rotRe[i]) - float32(s1.im[i]*k.rotIm[i]) +
			float32(s2.re[i]*k.rot2Re[i]) - float32(s2.im[i]*k.rot2Im[i]) +
			float32(s3.re[i]*k.rot3Re[i]) - float32(s3.im[i]*k.rot3Im[i])
		im := s0.im[i] + float32(s1.re[i]*k.rotIm[i]) + float32(s1.im[i]*k.rotRe[i]) +
			float32(s2.re[i]*k.rot2Im[i]) + float32(s2.im[i]*k.rot2Re[i]) +
			float32(s3.re[i]*k.rot3Im[i]) + float32(s3.im[i]*k.rot3Re[i])
		pw[i] = float32(re*re) + float32(im*im)
	}
	rb, cb := maxBits(&pw)
	for r = 0; math.Float32bits(pw[r]) != rb; r++ {
	}
	for c = 4; math.Float32bits(pw[c]) != cb; c++ {
	}
	return r, c, math.Float32frombits(rb) + math.Float32frombits(cb)
}

// pairPow is the largest row and column power (maxBits) over
// the 10 ms of slots a then b (pairBin's values).
func pairPow(a, b *slot) (row, col uint32) {
	var pw [numBins]float32
	for k := range numBins {
		x := pairBin(a, b, k)
		pw[k] = float32(real(x)*real(x)) + float32(imag(x)*imag(x))
	}
	return maxBits(&pw)
}

// goertzelSlots computes len(acc) whole slots of pcm.
func goertzelSlots(pcm []int16, acc []slotAcc) {
	for i := range acc {
		var b bank
		for j := range acc[i].blocks {
			b.run(pcm[i*slotLen+j*blockLen:][:blockLen])
			acc[i].blocks[j], b.energy = b.energy, 0
		}
		acc[i].s1, acc[i].s2 = b.s1, b.s2
	}
}

// reset starts the next slot at stream index at.
func (b *bank) reset(at int64) {
	b.s1, b.s2, b.blocks = [numBins]float32{}, [numBins]float32{}, [slotLen / blockLen]int64{}
	b.energy, b.fill, b.start = 0, 0, at
}

// position is the stream index of the next sample the bank expects.
func (b *bank) position() int64 { return b.start + int64(b.fill) }
