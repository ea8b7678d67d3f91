package media

import "encoding/binary"

// relayRTCP opens an RTCP compound packet, renames its SSRCs into the other
// leg's numbering and sends it on. Report contents (counts, sequence
// numbers, jitter) pass through unchanged.
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
	if !rewriteRTCP(b, p.rt.ssrc, p.s.inSSRC[p.rt.dst].Load()) {
		st.malformed.Add(1)
		return
	}
	p.sendRTCP(b)
}

// rewriteRTCP walks a compound packet in place: sender SSRCs become ours
// toward the receiving leg, report-block and feedback media SSRCs become
// the SSRC the receiving leg sends with. It reports false for bad framing.
func rewriteRTCP(b []byte, sender, media uint32) bool {
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
		rewriteOne(b[:n], sender, media)
		b = b[n:]
	}
	return true
}

func rewriteOne(b []byte, sender, media uint32) {
	binary.BigEndian.PutUint32(b[4:8], sender)
	count := int(b[0] & 0x1f)
	switch b[1] {
	case 200: // SR: 20 bytes of sender info, then report blocks
		if len(b) >= 28 {
			rewriteBlocks(b[28:], count, media)
		}
	case 201: // RR
		rewriteBlocks(b[8:], count, media)
	case 205, 206: // transport and payload feedback: media source SSRC
		if len(b) >= 12 && media != 0 {
			binary.BigEndian.PutUint32(b[8:12], media)
		}
	}
}

func rewriteBlocks(b []byte, count int, media uint32) {
	for i := 0; i < count && len(b) >= 24; i++ {
		if media != 0 {
			binary.BigEndian.PutUint32(b[0:4], media)
		}
		b = b[24:]
	}
}
