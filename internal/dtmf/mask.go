package dtmf

import "math"

// The mask plan decides which stretches of the input the suppressor
// replaces. Its decisions must not depend on which key was pressed, so
// the edges of a span come from signal energy at 1 ms resolution (the same
// for every key of the same level and timing), not from per-key bins, and
// are then widened by a guard and rounded out to a 10 ms grid (a coarse
// grid makes it rarer that a key-dependent detail at a tone's very edge
// moves a span boundary; see TestSuppressorKeyIndependenceInNoise).

const (
	blockLen   = 8   // 1 ms energy blocks
	blockRing  = 512 // 512 ms of block energies, more than any lookahead; a power of two (feedBlocks)
	lookback   = 25 * blockLen
	overrun    = 40 * blockLen // activity followed past the last suspicious slot
	activeFrac = 0.02          // a block is active above 2 % of the tone's mean block energy...
	floorMul   = 6             // ...and above 6x the background before the tone
)

// span is a masked stretch of the input stream: [from, to) once final;
// until then it has no end.
type span struct {
	from, to  int64
	lastStart int64   // start of the latest suspected slot: inside the tone
	limit     int64   // activity is followed no further than this
	thr       float32 // block energy that counts as activity
	final     bool
}

// plan holds the block energies and the pending spans.
type plan struct {
	acc     int64 // energy of the block being filled, exact
	pos     int64 // stream index of the next input sample
	head, n int
	guard   int64
	tail    int64
	spans   [maxSpans]span
	blocks  [blockRing]float32
}

// blockRing must be a power of two: this fails to compile otherwise.
var _ = [1]struct{}{}[blockRing&(blockRing-1)]

const maxSpans = 16

// edgeGrid is the grid span edges are rounded out to.
const edgeGrid = 2 * slotLen

// reset forgets spans and aligns the block grid to stream position pos.
func (p *plan) reset(pos int64) {
	p.head, p.n, p.acc, p.pos = 0, 0, 0, pos
}

// feed accumulates block energies for input samples.
func (p *plan) feed(in []int16) {
	for len(in) > 0 {
		n := min(len(in), int(blockLen-p.pos%blockLen))
		acc := p.acc // integer sums: no chain of float adds to wait on
		for _, v := range in[:n] {
			acc += int64(v) * int64(v)
		}
		p.acc, p.pos, in = acc, p.pos+int64(n), in[n:]
		if p.pos%blockLen == 0 {
			p.blocks[(p.pos/blockLen-1)%blockRing] = float32(p.acc)
			p.acc = 0
		}
	}
}

// feedBlocks takes the energies of whole 1 ms blocks computed elsewhere
// (the Goertzel kernel's), for input that starts on the block grid.
func (p *plan) feedBlocks(blocks *[slotLen / blockLen]int64) {
	i := (p.pos / blockLen) % blockRing
	for _, e := range blocks {
		p.blocks[i] = float32(e)
		i = (i + 1) & (blockRing - 1) // once i is found, no signed division per block
	}
	p.pos += slotLen
}

// skip stands in for n lost samples: they count as silence.
func (p *plan) skip(n int) {
	for range n {
		p.pos++
		if p.pos%blockLen == 0 {
			p.blocks[(p.pos/blockLen-1)%blockRing] = float32(p.acc)
			p.acc = 0
		}
	}
}

// block is the energy of the 1 ms block starting at stream index at.
func (p *plan) block(at int64) float32 { return p.blocks[(at/blockLen)%blockRing] }

// suspect records a suspected tone in [start, end) with the given energy.
// sent is the first stream index not yet forwarded.
func (p *plan) suspect(start, end int64, energy float32, sent int64) {
	if p.n > 0 {
		last := &p.spans[(p.head+p.n-1)%maxSpans]
		if !last.final || start-p.guard <= last.to || p.n == maxSpans {
			last.lastStart, last.limit, last.final = max(last.lastStart, start), max(last.limit, end+overrun), false
			return
		}
	}
	thr := p.threshold(start, energy*blockLen/float32(end-start))
	first := p.firstActive(start, end, thr)
	// One block of margin: the block holding the tone's first samples may
	// have stayed under the threshold.
	from := max(floorTo(p.onset(first, thr, sent)-blockLen-p.guard, edgeGrid), sent)
	p.spans[(p.head+p.n)%maxSpans] = span{from: from, lastStart: start, limit: end + overrun, thr: thr}
	p.n++
}

// threshold is the block energy above which a block belongs to the tone:
// 2 % of the tone's, and well above the background, taken as a low
// percentile of the blocks before the tone (the lowest third, which is still
// background even when the window holds the tone's first blocks).
func (p *plan) threshold(start int64, toneBlock float32) float32 {
	var quiet [lookback / blockLen]float32
	n := 0
	for at := start - lookback; at < start; at += blockLen {
		if at >= 0 && p.pos-at <= blockRing*blockLen {
			quiet[n] = p.block(at)
			n++
		}
	}
	return max(activeFrac*toneBlock, floorMul*lowThird(quiet[:n]))
}

// lowThird returns the value a third of the way up v: v[len(v)/3] of v
// sorted. It keeps only the smallest len(v)/3+1 values seen, sorted, so most
// values cost one comparison.
func lowThird(v []float32) float32 {
	if len(v) == 0 {
		return 0
	}
	var low [lookback/blockLen/3 + 1]float32
	k, m := len(v)/3+1, 0
	for _, x := range v {
		if m == k && x >= low[k-1] {
			continue
		}
		j := min(m, k-1)
		m = min(m+1, k)
		for ; j > 0 && low[j-1] > x; j-- {
			low[j] = low[j-1]
		}
		low[j] = x
	}
	return low[k-1]
}

// firstActive is the first block in [start, end) above thr: a suspected
// slot (or pair of slots) may begin before the tone does.
func (p *plan) firstActive(start, end int64, thr float32) int64 {
	at := floorTo(start, blockLen)
	for at+blockLen < end && p.block(at) <= thr {
		at += blockLen
	}
	return at
}

// onset walks back from start over active blocks, at most lookback and not
// past what was already sent. Activity is judged on two blocks at a time:
// a dual tone's beat can empty a single 1 ms block.
func (p *plan) onset(start int64, thr float32, sent int64) int64 {
	at := floorTo(start, blockLen)
	for at-2*blockLen >= max(start-lookback, sent, 0) && p.block(at-blockLen)+p.block(at-2*blockLen) > 2*thr {
		at -= blockLen
	}
	return at
}

// run reports whether stream index tau is to be replaced and until where
// that answer holds, retiring spans that are over and settling a span's end
// once output reaches its last suspected slot (by then the lookahead holds
// everything after it).
func (p *plan) run(tau int64) (masked bool, until int64) {
	for p.n > 0 {
		sp := &p.spans[p.head]
		if !sp.final && tau >= sp.lastStart {
			p.settle(sp)
		}
		switch {
		case tau < sp.from:
			return false, sp.from
		case !sp.final:
			return true, sp.lastStart
		case tau < sp.to:
			return true, sp.to
		}
		p.head = (p.head + 1) % maxSpans
		p.n--
	}
	return false, math.MaxInt64
}

// settle follows the tone's activity forward from its last suspected slot
// through blocks already received, then fixes the span's end: rounded up to
// the slot grid, plus the tail.
func (p *plan) settle(sp *span) {
	at := floorTo(sp.lastStart+slotLen-blockLen, blockLen) // the suspected slot is masked whole
	for at < sp.limit && at+2*blockLen <= p.pos && p.block(at)+p.block(at+blockLen) > 2*sp.thr {
		at += blockLen
	}
	sp.to = max(ceilTo(at+blockLen, edgeGrid)+p.tail, sp.lastStart+slotLen) // one block of margin, as for the onset
	sp.final = true
}

// covered reports whether stream index at lies inside a pending span.
func (p *plan) covered(at int64) bool {
	for i := range p.n {
		sp := &p.spans[(p.head+i)%maxSpans]
		if at >= sp.from && (at < sp.to || !sp.final) {
			return true
		}
	}
	return false
}

func floorTo(v, m int64) int64 {
	r := v % m
	if r < 0 {
		r += m
	}
	return v - r
}

func ceilTo(v, m int64) int64 { return floorTo(v+m-1, m) }
