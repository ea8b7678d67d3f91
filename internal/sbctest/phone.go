package sbctest

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// Phone is the media end of a test call: an RTP socket on loopback that
// sends G.711 frames and RFC 4733 key presses on one SSRC and clock, and
// keeps the RTP it receives once Listen is called.
type Phone struct {
	Conn *net.UDPConn
	To   *net.UDPAddr  // where Send goes: tonewall's relay, from its SDP
	Pace time.Duration // pause after each packet; 0 means 2 ms, negative none
	SSRC uint32
	TS   uint32 // the RTP clock of the next frame

	seq  uint16
	mu   sync.Mutex
	pkts []rtp.Packet
}

// NewPhone binds a phone to a free port on 127.0.0.1.
func NewPhone() (*Phone, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	return &Phone{Conn: c, SSRC: 0xcafe}, nil
}

// Port is the phone's RTP port.
func (p *Phone) Port() int { return p.Conn.LocalAddr().(*net.UDPAddr).Port }

// Close closes the socket, which ends Listen.
func (p *Phone) Close() error { return p.Conn.Close() }

// Send sends one RTP packet to To.
func (p *Phone) Send(pt uint8, marker bool, ts uint32, payload []byte) error {
	p.seq++
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, Marker: marker,
		SequenceNumber: p.seq, Timestamp: ts, SSRC: p.SSRC}, Payload: payload}
	b, err := pkt.Marshal()
	if err == nil {
		_, err = p.Conn.WriteToUDP(b, p.To)
	}
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
		buf := make([]byte, 1500)
		for {
			n, _, err := p.Conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(append([]byte(nil), buf[:n]...)) == nil {
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
