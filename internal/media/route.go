package media

import (
	"fmt"
	"net/netip"
	"strings"
)

// route is everything one direction's readers need, immutable once built:
// a new one is swapped in on every answer.
type route struct {
	src, dst  Side
	srcRTP    netip.AddrPort // signalled source; invalid before the leg's SDP
	srcRTCP   netip.AddrPort
	latchSrc  bool
	latchDst  bool
	in        [128]int8 // payload type on src → index in inCodecs, -1 = not negotiated
	inCodecs  []codec
	out       []codec // payload types dst wants
	rx, tx    *cryptoSet
	srcSecure bool // src negotiated SRTP: without rx yet (DTLS), drop
	dstSecure bool // dst negotiated SRTP: without tx yet (DTLS), drop
	dstRTP    netip.AddrPort
	dstRTCP   netip.AddrPort
	dstMux    bool
	forward   bool // direction attributes allow src→dst
	ssrc      uint32
}

func (s *Session) buildRoute(src Side) *route {
	from, to := s.legs[src], s.legs[src.Other()]
	r := &route{src: src, dst: src.Other(), latchSrc: from.policy.Latch, latchDst: to.policy.Latch,
		out: to.neg.send, rx: from.neg.rx, tx: to.neg.tx, dstMux: to.neg.mux, ssrc: to.ssrc}
	if m := from.neg.remote; m != nil && !m.onHold() {
		r.srcRTP, r.srcRTCP = m.rtpAddr(), m.RTCP
	}
	if m := to.neg.remote; m != nil && !m.onHold() {
		r.dstRTP, r.dstRTCP = m.rtpAddr(), m.RTCP
	}
	r.srcSecure, r.dstSecure = from.neg.secure(), to.neg.secure()
	r.forward = sends(from.neg.remote) && receives(to.neg.remote)
	r.setInbound(from.neg.recv, from.neg.send)
	return r
}

func sends(m *mediaDesc) bool {
	return m != nil && (m.Dir == dirSendRecv || m.Dir == dirSendOnly)
}

func receives(m *mediaDesc) bool {
	return m != nil && !m.onHold() && (m.Dir == dirSendRecv || m.Dir == dirRecvOnly)
}

// setInbound maps payload types to codecs: ours first, then the leg's own.
func (r *route) setInbound(lists ...[]codec) {
	for i := range r.in {
		r.in[i] = -1
	}
	for _, list := range lists {
		for _, c := range list {
			if r.in[c.PT&0x7f] < 0 {
				r.in[c.PT&0x7f] = int8(len(r.inCodecs))
				r.inCodecs = append(r.inCodecs, c)
			}
		}
	}
}

// inCodec is the codec of an incoming payload type.
func (r *route) inCodec(pt uint8) (codec, bool) {
	i := r.in[pt&0x7f]
	if i < 0 {
		return codec{}, false
	}
	return r.inCodecs[i], true
}

// outPT is the payload type dst expects for a codec, by name and rate.
func (r *route) outPT(name string, rate int) (uint8, bool) {
	for _, c := range r.out {
		if c.Rate == rate && strings.EqualFold(c.Name, name) {
			return c.PT, true
		}
	}
	return 0, false
}

// String describes the pipeline, e.g.
// "carrier udp(10.0.0.1:4000) -> srtp-open(AES_CM_128_HMAC_SHA1_80) -> pt-map(0>0 101>96) -> renumber -> srtp-seal(AEAD_AES_128_GCM) -> contact_center udp(10.0.0.2:5000)".
func (r *route) String() string { return r.describe("") }

// describe names the stages in order; stage is the installed Stage's name.
func (r *route) describe(stage string) string {
	parts := []string{fmt.Sprintf("%s udp(%s)", r.src, addrString(r.srcRTP, r.latchSrc))}
	if r.rx != nil {
		parts = append(parts, "srtp-open("+r.rx.attr.Suite.Name+")")
	} else if r.srcSecure {
		parts = append(parts, "drop(dtls-handshake)")
	}
	parts = append(parts, "pt-map("+r.ptMapString()+")")
	if stage != "" {
		parts = append(parts, stage)
	}
	parts = append(parts, "renumber")
	if r.tx != nil {
		parts = append(parts, "srtp-seal("+r.tx.attr.Suite.Name+")")
	} else if r.dstSecure {
		parts = append(parts, "drop(dtls-handshake)")
	}
	if !r.forward {
		return strings.Join(append(parts, "drop(direction)"), " -> ")
	}
	parts = append(parts, fmt.Sprintf("%s udp(%s)", r.dst, addrString(r.dstRTP, r.latchDst)))
	return strings.Join(parts, " -> ")
}

func (r *route) ptMapString() string {
	var b strings.Builder
	for _, c := range r.inCodecs {
		if pt, ok := r.outPT(c.Name, c.Rate); ok {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d>%d", c.PT, pt)
		}
	}
	return b.String()
}

func addrString(a netip.AddrPort, latch bool) string {
	s := "unknown"
	if a.IsValid() {
		s = a.String()
	}
	if latch {
		s += ",latch"
	}
	return s
}
