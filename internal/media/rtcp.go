package media

import "encoding/binary"

// relayRTCP opens an RTCP compound packet, translates it into the other
// leg's numbering (SSRCs, the sender report's RTP timestamp, report blocks'
// highest sequence number) and sends it on. Counts, loss and jitter pass
// through unchanged.
func (p *pump) relayRTCP(b []byte) {
	st := &p.s.stats[p.leg]
	if p.rt.rx == nil && p.rt.srcSecure {
		st.dropped.Add(1)
		return
	}
	if rx := p.rt.rx; rx != nil {
		dec, err := rx.rtcp.DecryptRTCP(p.plain[:0], b, &p.rtcpHdr)
		if err != nil {
			countCryptoError(st, err)
			return
		}
		b = dec
	}
	m := rtcpMap{sender: p.rt.ssrc, media: p.s.inSSRC[p.rt.dst].Load()}
	m.fill(p.s.streams[p.leg].Load(), p.s.streams[p.rt.dst].Load())
	if !rewriteRTCP(b, &m) {
		st.malformed.Add(1)
		return
	}
	p.sendRTCP(b)
}

// rtcpMap is how one RTCP packet is translated.
type rtcpMap struct {
	sender, media uint32 // new sender SSRC; SSRC reported on (0 = unknown)
	tsAdd         uint32 // added to a sender report's RTP timestamp
	seqSub        uint16 // taken from report blocks' highest sequence number
	ts, seq       bool   // whether tsAdd, seqSub are known
}

// fill takes the renumbering of the sender's own stream (for its SR) and of
// the stream it receives from tonewall (for its report blocks).
func (m *rtcpMap) fill(own, received uint64) {
	if own&(1<<48) != 0 {
		m.ts, m.tsAdd = true, uint32(own)
	}
	if received&(1<<48) != 0 {
		m.seq, m.seqSub = true, uint16(received>>32)
	}
}

// rewriteRTCP walks a compound packet in place. It reports false for bad
// framing.
func rewriteRTCP(b []byte, m *rtcpMap) bool {
	if len(b) < 8 {
		return false
	}
	for len(b) > 0 {
		if len(b) < 4 || b[0]>>6 != 2 {
			return false
		}
		n := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if n > len(b) || n < 8 {
			return false
		}
		rewriteOne(b[:n], m)
		b = b[n:]
	}
	return true
}

func rewriteOne(b []byte, m *rtcpMap) {
	binary.BigEndian.PutUint32(b[4:8], m.sender)
	count := int(b[0] & 0x1f)
	switch b[1] {
	case 200: // SR: NTP, RTP timestamp, counts, then report blocks
		if len(b) >= 28 {
			if m.ts {
				binary.BigEndian.PutUint32(b[16:20], binary.BigEndian.Uint32(b[16:20])+m.tsAdd)
			}
			rewriteBlocks(b[28:], count, m)
		}
	case 201: // RR
		rewriteBlocks(b[8:], count, m)
	case 205, 206: // transport and payload feedback: media source SSRC
		if len(b) >= 12 && m.media != 0 {
			binary.BigEndian.PutUint32(b[8:12], m.media)
		}
	}
}

func rewriteBlocks(b []byte, count int, m *rtcpMap) {
	for i := 0; i < count && len(b) >= 24; i++ {
		if m.media != 0 {
			binary.BigEndian.PutUint32(b[0:4], m.media)
		}
		if m.seq {
			ext := binary.BigEndian.Uint32(b[8:12])
			binary.BigEndian.PutUint32(b[8:12], ext&0xffff0000|uint32(uint16(ext)-m.seqSub))
		}
		b = b[24:]
	}
}
