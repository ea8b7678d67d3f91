package media

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const pcmuWithEvents = "0 101"

var (
	carrierEvents = []string{"a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=sendrecv"}
	ccEvents      = []string{"a=rtpmap:0 PCMU/8000", "a=rtpmap:96 telephone-event/8000", "a=sendrecv"}
)

func TestRelayForwardsRTPBothWays(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "call-1", LegPolicy{}, LegPolicy{})
	c, cc := newPhone(t), newPhone(t)
	// The contact center renumbers telephone-event to 96 in its answer.
	toC, toCC := call(t, s, c, cc, c.sdp(pcmuWithEvents, carrierEvents...), cc.sdp("0 96", ccEvents...))

	c.send(toC, hdr(0, 1000, 8000), []byte("voice"))
	got := cc.recv()
	assert.Equal(t, uint8(0), got.PayloadType)
	assert.Equal(t, []byte("voice"), got.Payload)
	assert.NotEqual(t, uint32(0x11223344), got.SSRC, "SSRC is tonewall's own per leg")

	c.send(toC, hdr(101, 1001, 8000), []byte{1, 0x80, 0, 160})
	ev := cc.recv()
	assert.Equal(t, uint8(96), ev.PayloadType, "telephone-event 101 → 96")
	assert.Equal(t, got.SequenceNumber+1, ev.SequenceNumber)
	assert.Equal(t, got.Timestamp, ev.Timestamp)

	cc.send(toCC, hdr(96, 5, 100), []byte{2, 0x80, 0, 160})
	assert.Equal(t, uint8(101), c.recv().PayloadType, "telephone-event 96 → 101")
	assert.Equal(t, uint64(2), s.Stats(Carrier).Received)
	assert.Eventually(t, func() bool { return s.Stats(Carrier).Sent == 1 }, time.Second, time.Millisecond)
}

// TestRelayRTPBleed: a third party that learns tonewall's port must not get
// its packets into the call ("RTP bleed").
func TestRelayRTPBleed(t *testing.T) {
	s, c, cc, toC, toCC := plainCall(t, "call-bleed")
	attacker := newPhone(t)

	attacker.send(toC, hdr(0, 1, 1), []byte("injected"))
	attacker.send(toCC, hdr(0, 1, 1), []byte("injected"))
	c.send(toC, hdr(0, 1, 160), []byte("real"))
	assert.Equal(t, []byte("real"), cc.recv().Payload)
	cc.quiet(50 * time.Millisecond)
	c.quiet(10 * time.Millisecond)
	attacker.quiet(10 * time.Millisecond)
	assert.Equal(t, uint64(1), s.Stats(Carrier).WrongSource)
	assert.Equal(t, uint64(1), s.Stats(ContactCenter).WrongSource)
}

func TestRelayLatchesFirstSource(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "call-nat", LegPolicy{Latch: true}, LegPolicy{})
	c, cc, other := newPhone(t), newPhone(t), newPhone(t)
	// Behind NAT, the carrier's SDP names a private address it can't be reached on.
	offer := sdpAt("10.9.9.9", 4000, "RTP/AVP", "0")
	toC, toCC := call(t, s, c, cc, offer, cc.sdp("0"))

	c.send(toC, hdr(0, 1, 160), []byte("first"))
	assert.Equal(t, []byte("first"), cc.recv().Payload)
	other.send(toC, hdr(0, 2, 320), []byte("second source"))
	cc.quiet(50 * time.Millisecond)
	assert.Equal(t, uint64(1), s.Stats(Carrier).WrongSource)

	cc.send(toCC, hdr(0, 9, 9), []byte("back"))
	assert.Equal(t, []byte("back"), c.recv().Payload, "answers go to the latched source")
}

func TestRelayRTCP(t *testing.T) {
	_, c, cc, toC, toCC := plainCall(t, "call-rtcp")

	cc.send(toCC, hdr(0, 1, 1), []byte("x")) // so tonewall knows the cc leg's SSRC
	c.recv()
	rr := make([]byte, 32) // RR with one report block
	rr[0], rr[1] = 0x81, 201
	binary.BigEndian.PutUint16(rr[2:], 7)
	binary.BigEndian.PutUint32(rr[4:], 0xaaaaaaaa)
	binary.BigEndian.PutUint32(rr[8:], 0xbbbbbbbb)
	rtcpTo := netip.AddrPortFrom(toC.Addr(), toC.Port()+1)
	_, err := c.RTCP.WriteToUDPAddrPort(rr, rtcpTo)
	require.NoError(t, err)
	got := recvRaw(t, cc.rtcpIn)
	require.Len(t, got, 32)
	assert.NotEqual(t, uint32(0xaaaaaaaa), binary.BigEndian.Uint32(got[4:]))
	assert.Equal(t, uint32(0x11223344), binary.BigEndian.Uint32(got[8:]), "report block names the cc leg's own SSRC")
}

func TestRelayRTCPMux(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "call-mux", LegPolicy{}, LegPolicy{})
	c, cc := newPhone(t), newPhone(t)
	offer, err := s.Offer(Carrier, c.sdp("0", "a=rtcp-mux"))
	require.NoError(t, err)
	assert.Contains(t, string(offer), "a=rtcp-mux")
	answer, err := s.Answer(ContactCenter, cc.sdp("0", "a=rtcp-mux"))
	require.NoError(t, err)
	assert.Contains(t, string(answer), "a=rtcp-mux")
	assert.NotContains(t, string(answer), "a=rtcp:")
	toC := remote(t, answer)

	rr := make([]byte, 8)
	rr[0], rr[1], rr[3] = 0x80, 201, 1
	_, err = c.Conn.WriteToUDPAddrPort(rr, toC)
	require.NoError(t, err)
	assert.Equal(t, byte(201), recvRaw(t, cc.rtpIn)[1], "muxed RTCP arrives on the RTP port")
}

// idleCall is a call whose phones send nothing, on a manager that ends a
// session after inactivity; cDir and ccDir are the phones' directions.
func idleCall(t *testing.T, inactivity time.Duration, id, cDir, ccDir string) *Session {
	m := newTestManager(t, Config{Inactivity: inactivity})
	s := testSession(t, m, id, LegPolicy{}, LegPolicy{})
	c, cc := newPhone(t), newPhone(t)
	call(t, s, c, cc, c.sdp("0", cDir), cc.sdp("0", ccDir))
	return s
}

// endsWithin reports whether s ends within d.
func endsWithin(s *Session, d time.Duration) bool {
	select {
	case <-s.Done():
		return true
	case <-time.After(d):
		return false
	}
}

func TestInactivityEndsSession(t *testing.T) {
	s := idleCall(t, 100*time.Millisecond, "call-idle", "a=sendrecv", "a=sendrecv")
	require.True(t, endsWithin(s, 2*time.Second), "session did not time out")
	assert.ErrorIs(t, s.Err(), ErrInactive)
}

func TestInactivityPausedOnHold(t *testing.T) {
	s := idleCall(t, 60*time.Millisecond, "call-hold", "a=sendonly", "a=recvonly")
	require.False(t, endsWithin(s, 300*time.Millisecond), "a call on hold timed out")
	assert.NoError(t, s.Err())
}

func TestHoldStopsMediaTowardHeldLeg(t *testing.T) {
	s, c, cc, toC, toCC := plainCall(t, "call-hold2")
	// Re-INVITE from the carrier puts the contact center on hold.
	_, err := s.Offer(Carrier, c.sdp("0", "a=sendonly"))
	require.NoError(t, err)
	answer, err := s.Answer(ContactCenter, cc.sdp("0", "a=recvonly"))
	require.NoError(t, err)
	assert.Contains(t, string(answer), "a=recvonly")
	assert.Equal(t, toC, remote(t, answer), "ports stay the same on re-INVITE")

	c.send(toC, hdr(0, 1, 160), []byte("music on hold"))
	assert.Equal(t, []byte("music on hold"), cc.recv().Payload)
	cc.send(toCC, hdr(0, 1, 160), []byte("not sent: carrier is sendonly"))
	c.quiet(50 * time.Millisecond)
}

func TestPortExhaustionIs503AndPortsAreReleased(t *testing.T) {
	lo := freeRange(t, 4)
	m := newTestManager(t, Config{PortMin: lo, PortMax: lo + 3, Drain: 50 * time.Millisecond})
	c, cc := newPhone(t), newPhone(t)
	s1, err := m.NewSession("a", LegPolicy{}, LegPolicy{})
	require.NoError(t, err)
	_, err = s1.Offer(Carrier, c.sdp("0"))
	require.NoError(t, err)
	assert.Equal(t, 4, m.PortsInUse())

	s2, err := m.NewSession("b", LegPolicy{}, LegPolicy{})
	require.NoError(t, err)
	_, err = s2.Offer(Carrier, c.sdp("0"))
	var se *SDPError
	require.True(t, errors.As(err, &se))
	assert.Equal(t, 503, se.Code)
	assert.ErrorIs(t, err, ErrPortsExhausted)
	assert.Equal(t, 4, m.PortsInUse(), "a failed offer holds no port")

	require.NoError(t, s1.Close())
	require.NoError(t, s1.Close(), "Close is idempotent")
	assert.Equal(t, 0, m.PortsInUse())
	assert.Equal(t, 4, m.PortsDraining())
	_, err = s2.Offer(Carrier, c.sdp("0"))
	assert.ErrorIs(t, err, ErrPortsExhausted, "released ports drain first")
	require.Eventually(t, func() bool { return m.PortsDraining() == 0 }, 2*time.Second, 5*time.Millisecond)
	_, err = s2.Offer(Carrier, cc.sdp("0"))
	require.NoError(t, err)
	require.NoError(t, s2.Close())
}

// freeRange finds n consecutive free ports from an even one, below the
// ephemeral range, for tests that need the pool to be exactly that size.
func freeRange(t *testing.T, n int) int {
	for lo := 32000; lo+n < 32760; lo += 2 * n {
		var held []*net.UDPConn
		for p := lo; p < lo+n; p++ {
			if c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p}); err == nil {
				held = append(held, c)
			}
		}
		for _, c := range held {
			c.Close()
		}
		if len(held) == n {
			return lo
		}
	}
	t.Fatal("no free port range")
	return 0
}

func TestPortInUseByAnotherProcessIsSkipped(t *testing.T) {
	var busy *net.UDPConn
	port := 32100
	for ; port < 32700 && busy == nil; port += 10 { // a range nobody else holds right now
		var err error
		busy, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			t.Log(err)
		}
	}
	require.NotNil(t, busy)
	defer busy.Close()
	port -= 10
	m := newTestManager(t, Config{PortMin: port, PortMax: port + 5})
	s := testSession(t, m, "a", LegPolicy{}, LegPolicy{})
	offer, err := s.Offer(Carrier, newPhone(t).sdp("0"))
	require.NoError(t, err)
	assert.NotEqual(t, port, int(remote(t, offer).Port()))
}

func TestCloseStopsRelayAndRejectsNegotiation(t *testing.T) {
	m := newTestManager(t, Config{})
	s, err := m.NewSession("a", LegPolicy{}, LegPolicy{})
	require.NoError(t, err)
	c, cc := newPhone(t), newPhone(t)
	toC, _ := call(t, s, c, cc, c.sdp("0"), cc.sdp("0"))
	require.NoError(t, s.Close())
	c.send(toC, hdr(0, 1, 1), []byte("late"))
	cc.quiet(30 * time.Millisecond)
	_, err = s.Offer(Carrier, c.sdp("0"))
	assert.ErrorIs(t, err, ErrClosed)
}

func TestLateOfferFromContactCenter(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "late", LegPolicy{}, LegPolicy{})
	c, cc := newPhone(t), newPhone(t)
	// INVITE without SDP: the contact center's 200 carries the offer, the carrier's ACK the answer.
	offer, err := s.Offer(ContactCenter, cc.sdp("8 0", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000"))
	require.NoError(t, err)
	answer, err := s.Answer(Carrier, c.sdp("8"))
	require.NoError(t, err)
	assert.Contains(t, string(answer), "m=audio")
	toC := remote(t, offer)
	c.send(toC, hdr(8, 1, 1), []byte("pcma"))
	got := cc.recv()
	assert.Equal(t, uint8(8), got.PayloadType)
	_ = rtp.Header{}
}

func TestRollbackKeepsPreviousState(t *testing.T) {
	s, c, cc, toC, _ := plainCall(t, "rb")
	_, err := s.Offer(Carrier, c.sdp("0", "a=inactive"))
	require.NoError(t, err)
	s.Rollback() // the contact center answered 488
	_, err = s.Answer(ContactCenter, cc.sdp("0"))
	assert.ErrorIs(t, err, ErrNoOffer)
	c.send(toC, hdr(0, 1, 1), []byte("still flowing"))
	assert.Equal(t, []byte("still flowing"), cc.recv().Payload)
}

func TestRollbackAfterEarlyAnswer(t *testing.T) {
	s, c, cc, toC, _ := plainCall(t, "rb2")
	_, err := s.Offer(Carrier, c.sdp("0"))
	require.NoError(t, err)
	_, err = s.Answer(ContactCenter, cc.sdp("0", "a=inactive")) // 183, then 488
	require.NoError(t, err)
	s.Rollback()
	c.send(toC, hdr(0, 1, 1), []byte("restored"))
	assert.Equal(t, []byte("restored"), cc.recv().Payload)
}

// TestRelayRTCPTranslatesNumbering: a sender report's RTP timestamp and a
// report block's highest sequence number come out in the receiving leg's
// numbering.
func TestRelayRTCPTranslatesNumbering(t *testing.T) {
	_, c, cc, toC, toCC := plainCall(t, "call-rtcp-map")

	cc.send(toCC, hdr(0, 5, 100), []byte("x"))
	atCarrier := c.recv()
	c.send(toC, hdr(0, 1000, 8000), []byte("y"))
	atCC := cc.recv()

	sr := make([]byte, 52) // SR with one report block
	sr[0], sr[1] = 0x81, 200
	binary.BigEndian.PutUint16(sr[2:], 12)
	binary.BigEndian.PutUint32(sr[16:], 8000+160)                                      // carrier's RTP clock
	binary.BigEndian.PutUint32(sr[28+8:], 0x00010000|uint32(atCarrier.SequenceNumber)) // as the carrier saw it
	_, err := c.RTCP.WriteToUDPAddrPort(sr, netip.AddrPortFrom(toC.Addr(), toC.Port()+1))
	require.NoError(t, err)
	got := recvRaw(t, cc.rtcpIn)
	require.Len(t, got, 52)
	assert.Equal(t, atCC.Timestamp+160, binary.BigEndian.Uint32(got[16:]), "SR timestamp in the contact center's numbering")
	assert.Equal(t, uint16(5), uint16(binary.BigEndian.Uint32(got[28+8:])), "highest sequence in the contact center's own numbering")
	assert.Equal(t, uint32(0x11223344), binary.BigEndian.Uint32(got[28:]))
}
