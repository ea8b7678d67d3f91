package media

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tonewall/tonewall/internal/sbctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var nextRange atomic.Int32

// newTestManager gives each test its own port range and closes it after.
func newTestManager(t testing.TB, cfg Config) *Manager {
	t.Helper()
	// Below the ephemeral range the test phones use; the retry on bind
	// failure copes with other processes holding a few ports.
	base := 20000 + int(nextRange.Add(1)%60)*200
	if cfg.PortMin == 0 {
		cfg.PortMin, cfg.PortMax = base, base+199
	}
	if cfg.Drain == 0 {
		cfg.Drain = time.Millisecond
	}
	if _, fuzzing := t.(*testing.F); fuzzing { // fuzz targets must not log through f
		m, err := NewManager(cfg, zap.NewNop())
		require.NoError(t, err)
		t.Cleanup(func() { m.Close() })
		return m
	}
	m, err := NewManager(cfg, zaptest.NewLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, m.Close())
		require.Equal(t, 0, m.PortsInUse())
	})
	return m
}

// phone is a test endpoint: the test kit's Phone with its RTCP socket, and
// a reader per socket delivering what they receive, DTLS records to the
// DTLS peer when one is set.
type phone struct {
	*sbctest.Phone
	t      testing.TB
	rtpIn  chan []byte
	rtcpIn chan []byte
	dtls   atomic.Pointer[dtlsLink] // DTLS records go here when set
	wg     sync.WaitGroup
}

// testSession is a session of m with the carrier's and the contact
// center's leg policies, closed when the test ends.
func testSession(t testing.TB, m *Manager, id string, carrier, cc LegPolicy) *Session {
	t.Helper()
	s, err := m.NewSession(id, carrier, cc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newPhone(t testing.TB) *phone {
	t.Helper()
	kit, err := sbctest.NewRTCPPhone()
	require.NoError(t, err)
	p := &phone{Phone: kit, t: t, rtpIn: make(chan []byte, 1024), rtcpIn: make(chan []byte, 1024)}
	p.read(p.Conn, p.rtpIn)
	p.read(p.RTCP, p.rtcpIn)
	t.Cleanup(p.close)
	return p
}

func (p *phone) read(c *net.UDPConn, ch chan []byte) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		sbctest.ReadEach(c, func(b []byte) {
			if d := p.dtls.Load(); d != nil && isDTLSRecord(b) {
				d.deliver(b)
				return
			}
			select {
			case ch <- bytes.Clone(b):
			default:
			}
		})
	}()
}

func (p *phone) close() {
	p.Close()
	p.wg.Wait()
}

// sdp writes a minimal SDP for this phone; extra lines go at the media level.
func (p *phone) sdp(formats string, extra ...string) []byte {
	return sdpAt("127.0.0.1", p.Port(), "RTP/AVP", formats, extra...)
}

func sdpAt(addr string, port int, proto, formats string, extra ...string) []byte {
	lines := []string{
		"v=0", "o=- 1 1 IN IP4 " + addr, "s=-", "c=IN IP4 " + addr, "t=0 0",
		fmt.Sprintf("m=audio %d %s %s", port, proto, formats),
	}
	lines = append(lines, extra...)
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// send writes one RTP packet to addr from the phone's RTP socket, in SRTP
// when the phone has a Seal.
func (p *phone) send(to netip.AddrPort, h rtp.Header, payload []byte) {
	require.NoError(p.t, p.WriteTo(make([]byte, 1500), nil, h, payload, to))
}

// recv waits for one RTP packet.
func (p *phone) recv() *rtp.Packet {
	p.t.Helper()
	select {
	case b := <-p.rtpIn:
		var pkt rtp.Packet
		require.NoError(p.t, pkt.Unmarshal(b))
		return &pkt
	case <-time.After(2 * time.Second):
		p.t.Fatal("no packet relayed")
		return nil
	}
}

// quiet asserts nothing arrives for a short while.
func (p *phone) quiet(d time.Duration) {
	p.t.Helper()
	select {
	case <-p.rtpIn:
		p.t.Fatal("unexpected packet")
	case <-time.After(d):
	}
}

// remote reads tonewall's address and port out of an SDP it wrote.
func remote(t testing.TB, raw []byte) netip.AddrPort {
	t.Helper()
	var sd sdp.SessionDescription
	require.NoError(t, sd.Unmarshal(raw))
	addr := netip.MustParseAddr(sd.ConnectionInformation.Address.Address)
	return netip.AddrPortFrom(addr, uint16(sd.MediaDescriptions[0].MediaName.Port.Value))
}

// call sets up a call carrier → contact center and returns tonewall's
// addresses facing each phone.
func call(t testing.TB, s *Session, c, cc *phone, cOffer, ccAnswer []byte) (toC, toCC netip.AddrPort) {
	t.Helper()
	offer, err := s.Offer(Carrier, cOffer)
	require.NoError(t, err)
	answer, err := s.Answer(ContactCenter, ccAnswer)
	require.NoError(t, err)
	return remote(t, answer), remote(t, offer)
}

// plainCall is a PCMU call over plain RTP through a fresh manager: its
// session, the carrier's and the contact center's phones, and tonewall's
// address facing each.
func plainCall(t *testing.T, id string) (s *Session, c, cc *phone, toC, toCC netip.AddrPort) {
	t.Helper()
	s = testSession(t, newTestManager(t, Config{}), id, LegPolicy{}, LegPolicy{})
	c, cc = newPhone(t), newPhone(t)
	toC, toCC = call(t, s, c, cc, c.sdp("0"), cc.sdp("0"))
	return s, c, cc, toC, toCC
}

func hdr(pt uint8, seq uint16, ts uint32) rtp.Header {
	return rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: 0x11223344}
}
