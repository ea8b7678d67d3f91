package sbctest

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// Phone is the media end of a test call: an RTP socket on loopback that
// sends G.711 frames and RFC 4733 key presses on one SSRC and clock, in
// SRTP when given keys, and keeps the RTP it receives once Listen is
// called. Send paces itself for a test; WriteTo and Read are its
// allocation-free parts, for a load generator.
type Phone struct {
	Conn *net.UDPConn
	RTCP *net.UDPConn  // the RTCP socket, on Port()+1, from NewRTCPPhone; else nil
	To   *net.UDPAddr  // where Send goes: tonewall's relay, from its SDP
	Pace time.Duration // pause after each packet; 0 means 2 ms, negative none
	SSRC uint32
	Seq  uint16        // the sequence number of the last packet sent
	TS   uint32        // the RTP clock of the next frame
	Seal *srtp.Context // when set, what the phone sends is SRTP sealed with it
	Open *srtp.Context // when set, what it receives is SRTP opened with it; what fails to open is dropped

	scratch []byte     // Send's buffers
	sealHdr rtp.Header // WriteTo's and Read's, so that SRTP does not allocate one a packet
	openHdr rtp.Header
	mu      sync.Mutex
	pkts    []rtp.Packet
}

var loopback = net.IPv4(127, 0, 0, 1)

// NewPhone binds a phone to a free port on 127.0.0.1.
func NewPhone() (*Phone, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback})
	if err != nil {
		return nil, err
	}
	return &Phone{Conn: c, SSRC: 0xcafe}, nil
}

// NewRTCPPhone binds a phone to a free even port on 127.0.0.1 and its RTCP
// socket to the odd port above it.
func NewRTCPPhone() (*Phone, error) {
	for range 100 {
		p, err := NewPhone()
		if err != nil {
			return nil, err
		}
		if p.Port()%2 == 0 {
			if p.RTCP, err = net.ListenUDP("udp", &net.UDPAddr{IP: loopback, Port: p.Port() + 1}); err == nil {
				return p, nil
			}
		}
		p.Close()
	}
	return nil, errors.New("no free even port with a free port above it")
}

// Port is the phone's RTP port.
func (p *Phone) Port() int { return p.Conn.LocalAddr().(*net.UDPAddr).Port }

// Close closes the sockets, which ends Listen.
func (p *Phone) Close() error {
	if p.RTCP != nil {
		p.RTCP.Close()
	}
	return p.Conn.Close()
}

// Next is the header of the phone's next packet, its sequence number
// counted as sent.
func (p *Phone) Next(pt uint8, marker bool, ts uint32) rtp.Header {
	p.Seq++
	return rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: p.Seq, Timestamp: ts, SSRC: p.SSRC}
}

// WriteTo sends one RTP packet to an address, sealed with Seal when set.
// buf and sealed are the caller's scratch space, 1500 bytes each: WriteTo
// allocates nothing of its own (pion's SRTP ciphers allocate a few objects
// a packet). WriteTo of one phone is for one goroutine at a time, as is
// Read.
func (p *Phone) WriteTo(buf, sealed []byte, h rtp.Header, payload []byte, to netip.AddrPort) error {
	n, err := (&rtp.Packet{Header: h, Payload: payload}).MarshalTo(buf)
	if err != nil {
		return err
	}
	out := buf[:n]
	if p.Seal != nil {
		p.sealHdr = h
		if out, err = p.Seal.EncryptRTP(sealed, out, &p.sealHdr); err != nil {
			return err
		}
	}
	_, err = p.Conn.WriteToUDPAddrPort(out, to)
	return err
}

// Read waits for the next packet and returns it, opened with Open when set.
// buf and opened are the caller's scratch space, 1500 bytes each: Read
// allocates nothing of its own, as WriteTo. Its error is the socket's:
// closed, it ends.
func (p *Phone) Read(buf, opened []byte) ([]byte, error) {
	for {
		n, err := p.Conn.Read(buf)
		if err != nil || p.Open == nil {
			return buf[:n], err
		}
		if b, err := p.Open.DecryptRTP(opened, buf[:n], &p.openHdr); err == nil {
			return b, nil
		}
	}
}

// Send sends one RTP packet to To, then pauses for Pace.
func (p *Phone) Send(pt uint8, marker bool, ts uint32, payload []byte) error {
	if p.scratch == nil {
		p.scratch = make([]byte, 2*1500)
	}
	err := p.WriteTo(p.scratch[:1500], p.scratch[1500:], p.Next(pt, marker, ts), payload, p.To.AddrPort())
	switch {
	case p.Pace == 0:
		time.Sleep(2 * time.Millisecond)
	case p.Pace > 0:
		time.Sleep(p.Pace)
	}
	return err
}

// Frame sends one 20 ms PCMU frame and advances the clock.
func (p *Phone) Frame(ulaw []byte) error {
	err := p.Send(0, false, p.TS, ulaw)
	p.TS += 160
	return err
}

// Silence sends n 20 ms PCMU frames of silence.
func (p *Phone) Silence(n int) error {
	for range n {
		if err := p.Frame(bytes.Repeat([]byte{0xff}, 160)); err != nil {
			return err
		}
	}
	return nil
}

// Key sends one RFC 4733 key press (0-9, *, #, A-D): 100 ms of the event,
// its three end packets, and a 100 ms pause on the clock.
func (p *Phone) Key(k byte) error {
	code, ok := eventCode(k)
	if !ok {
		return fmt.Errorf("%q is not a DTMF key", k)
	}
	start := p.TS
	var err error
	for i, dur := range []uint16{160, 320, 480, 640, 800} {
		err = cmp.Or(err, p.Send(101, i == 0, start, binary.BigEndian.AppendUint16([]byte{code, 10}, dur)))
	}
	for range 3 {
		err = cmp.Or(err, p.Send(101, false, start, binary.BigEndian.AppendUint16([]byte{code, 0x80 | 10}, 800)))
	}
	p.TS += 1600
	return err
}

func eventCode(k byte) (byte, bool) {
	switch {
	case k >= '0' && k <= '9':
		return k - '0', true
	case k == '*':
		return 10, true
	case k == '#':
		return 11, true
	case k >= 'A' && k <= 'D':
		return 12 + k - 'A', true
	}
	return 0, false
}

// Listen keeps every RTP packet the phone receives until it is closed.
func (p *Phone) Listen() {
	go func() {
		buf, opened := make([]byte, 1500), make([]byte, 1500)
		for {
			b, err := p.Read(buf, opened)
			if err != nil {
				return
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(bytes.Clone(b)) == nil {
				p.mu.Lock()
				p.pkts = append(p.pkts, pkt)
				p.mu.Unlock()
			}
		}
	}()
}

// Received is what the phone received so far.
func (p *Phone) Received() []rtp.Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rtp.Packet(nil), p.pkts...)
}

// Count is how many received packets have payload type pt.
func (p *Phone) Count(pt uint8) int {
	n := 0
	for _, pkt := range p.Received() {
		if pkt.PayloadType == pt {
			n++
		}
	}
	return n
}

// ReadEach calls f with each datagram c receives until c is closed; b is
// f's only until it returns.
func ReadEach(c *net.UDPConn, f func(b []byte)) {
	buf := make([]byte, 2048)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		f(buf[:n])
	}
}
