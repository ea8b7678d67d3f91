package main

import (
	"bufio"
	"encoding/binary"
	"io"

	"github.com/pion/rtp"
)

// pcapWriter writes RTP packets as a classic libpcap file (Ethernet, IPv4,
// UDP), the format SIPp's play_pcap_audio reads. SIPp keeps only the UDP
// payload and the port offsets: it sends each packet from the -mp port to
// the media address of the far end's SDP, at the packets' pace.
type pcapWriter struct {
	w       *bufio.Writer
	protect func([]byte) ([]byte, error) // when not nil: SRTP

	pkt  []byte
	usec int64 // timestamp of the next packet
	err  error
}

const (
	linkEthernet = 1
	udpSrcPort   = 6000
	udpDstPort   = 6002
)

func newPcapWriter(w io.Writer) *pcapWriter {
	p := &pcapWriter{w: bufio.NewWriter(w)}
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4) // microsecond timestamps
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535) // snap length
	binary.LittleEndian.PutUint32(hdr[20:], linkEthernet)
	_, p.err = p.w.Write(hdr)
	return p
}

// frame writes one RTP packet and moves the clock on by one frame.
func (p *pcapWriter) frame(h rtp.Header, payload []byte) {
	if p.err != nil {
		return
	}
	raw, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err == nil && p.protect != nil {
		raw, err = p.protect(raw)
	}
	if err != nil {
		p.err = err
		return
	}
	udpLen := 8 + len(raw)
	ipLen := 20 + udpLen
	b := p.pkt[:0]
	b = append(b, make([]byte, 16)...) // record header, filled below
	b = append(b, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x08, 0x00)
	b = append(b, 0x45, 0, byte(ipLen>>8), byte(ipLen), 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1)
	b = binary.BigEndian.AppendUint16(b, udpSrcPort)
	b = binary.BigEndian.AppendUint16(b, udpDstPort)
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
	b = append(b, 0, 0) // checksum: SIPp computes its own
	b = append(b, raw...)
	n := uint32(len(b) - 16)
	binary.LittleEndian.PutUint32(b[0:], uint32(p.usec/1e6))
	binary.LittleEndian.PutUint32(b[4:], uint32(p.usec%1e6))
	binary.LittleEndian.PutUint32(b[8:], n)
	binary.LittleEndian.PutUint32(b[12:], n)
	_, p.err = p.w.Write(b)
	p.pkt = b
	p.usec += frameMS * 1000
}

func (p *pcapWriter) close() error {
	if p.err != nil {
		return p.err
	}
	return p.w.Flush()
}
