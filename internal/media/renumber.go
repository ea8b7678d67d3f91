package media

import (
	"math/rand/v2"

	"github.com/pion/rtp"
)

// renumberer gives the packets sent to one leg their own sequence numbers
// and timestamps. Network loss on the receiving leg stays visible as a gap;
// packets a stage drops leave none, and packets it injects get numbers of
// their own. A change of the incoming SSRC continues the outgoing stream.
type renumberer struct {
	started  bool
	inSSRC   uint32
	lastIn   uint16 // highest incoming sequence number seen
	lastOut  uint16 // highest outgoing sequence number sent
	tsOffset uint32 // outgoing timestamp = incoming + tsOffset
	lastTS   uint32 // outgoing timestamp of lastOut

	cur     uint16 // incoming sequence number of the packet in progress
	emitted int    // packets emitted for it so far
}

const tsStep = 160 // 20 ms at 8 kHz, the gap assumed across an SSRC change

// begin starts one incoming packet.
func (r *renumberer) begin(h *rtp.Header) {
	switch {
	case !r.started:
		r.started, r.lastOut, r.tsOffset = true, uint16(rand.Uint32()), rand.Uint32()
		r.restart(h)
	case h.SSRC != r.inSSRC:
		r.tsOffset = r.lastTS + tsStep - h.Timestamp
		r.restart(h)
	}
	r.cur, r.emitted = h.SequenceNumber, 0
}

func (r *renumberer) restart(h *rtp.Header) {
	r.inSSRC, r.lastIn = h.SSRC, h.SequenceNumber-1
}

// next numbers one outgoing packet of the packet in progress.
func (r *renumberer) next(ts uint32) (uint16, uint32) {
	out := ts + r.tsOffset
	r.emitted++
	if r.emitted > 1 { // injected after the first: a number of its own
		r.lastOut++
		r.lastTS = out
		return r.lastOut, out
	}
	gap := int16(r.cur - r.lastIn)
	if gap <= 0 { // late or duplicate: keep its place, change nothing
		return r.lastOut + uint16(gap), out
	}
	r.lastIn, r.lastOut, r.lastTS = r.cur, r.lastOut+uint16(gap), out
	return r.lastOut, out
}

// mapping packs the current in→out renumbering for the RTCP path: bit 48
// set, bits 32-47 the sequence delta, bits 0-31 the timestamp offset.
func (r *renumberer) mapping() uint64 {
	return 1<<48 | uint64(r.lastOut-r.lastIn)<<32 | uint64(r.tsOffset)
}

// end finishes the packet in progress; it reports false when nothing was
// emitted, in which case the packet's number is consumed without a gap.
func (r *renumberer) end() bool {
	if r.emitted == 0 {
		if gap := int16(r.cur - r.lastIn); gap > 0 {
			r.lastIn = r.cur
		}
		return false
	}
	return true
}
