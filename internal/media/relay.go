package media

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// bufSize is the largest datagram the relay takes: one Ethernet MTU plus
// room for the SRTP tag. It reads into one byte more, so that a larger
// datagram, which the socket would cut to fit, is seen and dropped whole.
const bufSize = 1500 + 64

// pump reads one socket of leg `leg` and relays what it reads to the other
// leg. It owns its buffers; only its goroutine touches them.
type pump struct {
	s        *Session
	leg      Side
	conn     *net.UDPConn
	rtcpOnly bool

	bufs                    *pumpBuffers // nil once run has returned them
	buf, plain, out, sealed []byte       // in bufs
	hdr, outHdr             rtp.Header
	rtcpHdr                 rtcp.Header
	pkt                     Packet
	rt                      *route     // route of the packet being relayed
	renum                   renumberer // sequence/timestamp state toward the other leg
	published               uint64     // renum.mapping() last stored in Session.streams
}

func newPump(s *Session, leg Side, conn *net.UDPConn, rtcpOnly bool) *pump {
	b := pumpPool.Get().(*pumpBuffers)
	return &pump{s: s, leg: leg, conn: conn, rtcpOnly: rtcpOnly, bufs: b,
		buf: b.buf[:], plain: b.plain[:], out: b.out[:], sealed: b.sealed[:]}
}

// pumpBuffers are a pump's four buffers in one piece. Every call starts
// four pumps and stops them at its end, so they are pooled: fresh, they
// cost each call 25 KiB of memory to fault in and zero.
type pumpBuffers struct {
	buf    [bufSize + 1]byte
	plain  [bufSize]byte
	out    [bufSize]byte
	sealed [bufSize + 32]byte
}

var pumpPool = sync.Pool{New: func() any { return new(pumpBuffers) }}

// release gives the buffers back to the pool; the pump reads no more.
func (p *pump) release() {
	pumpPool.Put(p.bufs)
	p.bufs, p.buf, p.plain, p.out, p.sealed = nil, nil, nil, nil, nil
}

// run reads until the socket is closed, then releases the buffers.
func (p *pump) run() {
	defer p.release()
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(p.buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || p.stopped() {
				return
			}
			continue
		}
		if n > bufSize {
			p.s.stats[p.leg].tooLarge.Add(1)
			continue
		}
		p.handle(p.buf[:n], from)
	}
}

func (p *pump) stopped() bool {
	select {
	case <-p.s.stop:
		return true
	case <-p.s.done:
		return true
	default:
		return false
	}
}

func (p *pump) handle(b []byte, from netip.AddrPort) {
	st := &p.s.stats[p.leg]
	rt := p.s.routes[p.leg].Load()
	if rt == nil {
		st.dropped.Add(1)
		return
	}
	if !p.rtcpOnly && isDTLSRecord(b) {
		p.relayDTLS(rt, b, from)
		return
	}
	isRTCP := p.rtcpOnly || looksLikeRTCP(b)
	if !p.accept(rt, from.Addr().Unmap(), from.Port(), isRTCP) {
		st.wrongSource.Add(1)
		return
	}
	st.received.Add(1)
	p.rt = rt
	if isRTCP {
		p.relayRTCP(b)
	} else {
		p.relayRTP(b)
	}
}

// relayDTLS hands a DTLS record from the leg's media source to its association.
func (p *pump) relayDTLS(rt *route, b []byte, from netip.AddrPort) {
	d := p.s.links[p.leg].Load()
	if d == nil || !p.accept(rt, from.Addr().Unmap(), from.Port(), false) {
		p.s.stats[p.leg].wrongSource.Add(1)
		return
	}
	d.deliver(b)
}

// looksLikeRTCP demultiplexes RTCP on the RTP port (RFC 5761 section 4).
func looksLikeRTCP(b []byte) bool { return len(b) >= 2 && b[1] >= 192 && b[1] <= 223 }

// accept enforces symmetric RTP: only the signalled source, or with
// LegPolicy.Latch the first source seen since the last SDP change.
func (p *pump) accept(rt *route, addr netip.Addr, port uint16, isRTCP bool) bool {
	from := netip.AddrPortFrom(addr, port)
	if !rt.latchSrc {
		return rt.srcRTP.IsValid() && (from == rt.srcRTP || (isRTCP && from == rt.srcRTCP))
	}
	slot := &p.s.latched[p.leg].rtp
	if isRTCP && p.rtcpOnly {
		slot = &p.s.latched[p.leg].rtcp
	}
	if l := slot.Load(); l != nil {
		return *l == from
	}
	return p.latch(slot, from)
}

// latch records the first source; kept apart so that only this path allocates.
func (p *pump) latch(slot *atomic.Pointer[netip.AddrPort], from netip.AddrPort) bool {
	if slot.CompareAndSwap(nil, &from) {
		p.s.log.Info("media source latched", legField(p.leg), addrField(from))
		return true
	}
	return *slot.Load() == from
}

func (p *pump) relayRTP(b []byte) {
	st := &p.s.stats[p.leg]
	payload, ok := p.open(b)
	if !ok {
		return
	}
	c, ok := p.rt.inCodec(p.hdr.PayloadType)
	if !ok || !p.rt.forward {
		st.dropped.Add(1)
		return
	}
	p.pkt.Header, p.pkt.Payload, p.pkt.Codec, p.pkt.ClockRate = p.hdr, payload, c.Name, c.Rate
	if p.hdr.SSRC != p.renum.inSSRC || !p.renum.started {
		p.s.inSSRC[p.leg].Store(p.hdr.SSRC)
	}
	p.renum.begin(&p.hdr)
	if box := p.stageFor(); box != nil {
		box.st.Process(&p.pkt, p)
	} else {
		p.emit(&p.pkt)
	}
	if !p.renum.end() {
		st.dropped.Add(1)
	}
	if m := p.renum.mapping(); m != p.published {
		p.published = m
		p.s.streams[p.leg].Store(m)
	}
}

func (p *pump) stageFor() *stageBox {
	if p.leg != Carrier {
		return nil
	}
	return p.s.stage.Load()
}

// open parses and, on an SRTP leg, authenticates and decrypts one packet.
func (p *pump) open(b []byte) ([]byte, bool) {
	st := &p.s.stats[p.leg]
	hn, err := p.hdr.Unmarshal(b)
	if err != nil || p.hdr.Version != 2 {
		st.malformed.Add(1)
		return nil, false
	}
	if p.rt.rx == nil && p.rt.srcSecure {
		st.dropped.Add(1)
		return nil, false
	}
	if rx := p.rt.rx; rx != nil {
		dec, err := rx.open.open(p.plain, b, hn, p.hdr.SSRC, p.hdr.SequenceNumber)
		if err != nil {
			countCryptoError(st, err)
			return nil, false
		}
		b = dec
	}
	return stripPadding(&p.hdr, b[hn:])
}

func stripPadding(h *rtp.Header, payload []byte) ([]byte, bool) {
	if !h.Padding {
		return payload, true
	}
	if len(payload) == 0 || int(payload[len(payload)-1]) > len(payload) || payload[len(payload)-1] == 0 {
		return nil, false
	}
	h.Padding = false
	return payload[:len(payload)-int(payload[len(payload)-1])], true
}

func countCryptoError(st *legCounters, err error) {
	if errors.Is(err, errSRTPReplay) || strings.Contains(err.Error(), "duplicated") {
		st.replayed.Add(1)
		return
	}
	st.authFailed.Add(1)
}

// Emit is emit, for the stage (Emitter).
func (p *pump) Emit(pkt *Packet) { p.emit(pkt) }

// emit renumbers, re-encrypts and sends one packet to the other leg.
func (p *pump) emit(pkt *Packet) {
	rt, st := p.rt, &p.s.stats[p.leg]
	pt, ok := rt.outPT(pkt.Codec, pkt.ClockRate)
	if !ok {
		st.dropped.Add(1)
		return
	}
	h := &p.outHdr
	h.Version, h.Padding, h.Extension, h.Marker = 2, false, false, pkt.Header.Marker
	h.PayloadType, h.SSRC, h.CSRC, h.Extensions = pt, rt.ssrc, h.CSRC[:0], h.Extensions[:0]
	h.SequenceNumber, h.Timestamp = p.renum.next(pkt.Header.Timestamp)
	n, err := h.MarshalTo(p.out)
	if err != nil || n+len(pkt.Payload) > len(p.out) {
		st.dropped.Add(1)
		return
	}
	hn := n
	n += copy(p.out[n:], pkt.Payload)
	p.sendRTP(p.out[:n], hn, h.SequenceNumber)
}

// sendRTP seals an RTP packet for the other leg when it uses SRTP.
func (p *pump) sendRTP(b []byte, hdrLen int, seq uint16) {
	if p.rt.tx == nil && p.rt.dstSecure {
		p.s.stats[p.leg].dropped.Add(1)
		return
	}
	if tx := p.rt.tx; tx != nil {
		b = tx.seal.seal(p.sealed, b, hdrLen, p.rt.ssrc, seq)
	}
	p.write(b, false)
}

// sendRTCP seals an RTCP compound packet for the other leg when it uses SRTP.
func (p *pump) sendRTCP(b []byte) {
	if p.rt.tx == nil && p.rt.dstSecure {
		p.s.stats[p.leg].dropped.Add(1)
		return
	}
	if tx := p.rt.tx; tx != nil {
		var err error
		if b, err = tx.rtcp.EncryptRTCP(p.sealed[:0], b, &p.rtcpHdr); err != nil {
			p.s.stats[p.leg].dropped.Add(1)
			return
		}
	}
	p.write(b, true)
}

// write sends b to the other leg's RTP or RTCP destination.
func (p *pump) write(b []byte, isRTCP bool) {
	rt := p.rt
	var w packetWriter
	w, to := p.s.destination(rt, isRTCP)
	if !to.IsValid() || to.Addr().IsUnspecified() {
		p.s.stats[p.leg].dropped.Add(1)
		return
	}
	if p.s.sink != nil {
		w = p.s.sink
	}
	if _, err := w.WriteToUDPAddrPort(b, to); err == nil {
		p.s.stats[rt.dst].sent.Add(1)
	}
}

// packetWriter is the sending half of *net.UDPConn.
type packetWriter interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// destination is where packets for rt.dst go: the latched source when the
// leg latches and one was seen, else its signalled address.
func (s *Session) destination(rt *route, isRTCP bool) (*net.UDPConn, netip.AddrPort) {
	ports := s.legs[rt.dst].ports
	l := &s.latched[rt.dst]
	if !isRTCP || rt.dstMux {
		return ports.rtp, latchedOr(rt.latchDst, &l.rtp, rt.dstRTP)
	}
	conn := ports.rtcp
	if conn == nil {
		conn = ports.rtp
	}
	return conn, latchedOr(rt.latchDst, &l.rtcp, rt.dstRTCP)
}

func latchedOr(latch bool, slot *atomic.Pointer[netip.AddrPort], signalled netip.AddrPort) netip.AddrPort {
	if latch {
		if a := slot.Load(); a != nil {
			return *a
		}
	}
	return signalled
}
