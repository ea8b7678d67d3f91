package media

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReinviteMovesMediaToNewAddress(t *testing.T) {
	s, c, cc, toC, toCC := plainCall(t, "move")
	cc2 := newPhone(t)
	// The contact center re-INVITEs from a new media port (e.g. a transfer).
	offer, err := s.Offer(ContactCenter, cc2.sdp("0"))
	require.NoError(t, err)
	answer, err := s.Answer(Carrier, c.sdp("0"))
	require.NoError(t, err)
	assert.Equal(t, toC, remote(t, offer))
	assert.Equal(t, toCC, remote(t, answer))

	c.send(toC, hdr(0, 1, 160), []byte("to the new port"))
	assert.Equal(t, []byte("to the new port"), cc2.recv().Payload)
	cc.quiet(30 * time.Millisecond)
	cc.send(toCC, hdr(0, 1, 1), []byte("old port"))
	c.quiet(30 * time.Millisecond)
	assert.Equal(t, uint64(1), s.Stats(ContactCenter).WrongSource, "the old address is no longer accepted")
}

func TestEarlyMediaThenFinalAnswerFromAnotherFork(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "fork", LegPolicy{}, LegPolicy{})
	c, early, final := newPhone(t), newPhone(t), newPhone(t)
	offer, err := s.Offer(Carrier, c.sdp("0 8", "a=rtpmap:8 PCMA/8000"))
	require.NoError(t, err)
	a183, err := s.Answer(ContactCenter, early.sdp("8"))
	require.NoError(t, err)
	toC, toCC := remote(t, a183), remote(t, offer)
	early.send(toCC, hdr(8, 1, 1), []byte("ringback"))
	assert.Equal(t, []byte("ringback"), c.recv().Payload)

	a200, err := s.Answer(ContactCenter, final.sdp("0"))
	require.NoError(t, err)
	assert.Contains(t, string(a200), "RTP/AVP 0")
	c.send(toC, hdr(0, 2, 2), []byte("hello"))
	got := final.recv()
	assert.Equal(t, uint8(0), got.PayloadType)
	early.quiet(30 * time.Millisecond)
}

func TestRFC2543HoldStopsMediaToHeldLeg(t *testing.T) {
	s, c, cc, toC, toCC := plainCall(t, "hold0")
	offer, err := s.Offer(ContactCenter, sdpAt("0.0.0.0", cc.Port(), "RTP/AVP", "0"))
	require.NoError(t, err)
	assert.Contains(t, string(offer), "a=sendonly")
	_, err = s.Answer(Carrier, c.sdp("0", "a=recvonly"))
	require.NoError(t, err)
	c.send(toC, hdr(0, 1, 1), []byte("to a held leg"))
	cc.quiet(50 * time.Millisecond)
	_ = toCC
}

func TestSRTCPBetweenSRTPLegs(t *testing.T) {
	k := newSRTPCall(t, newTestManager(t, Config{}), "AES_CM_128_HMAC_SHA1_80", []string{"AEAD_AES_128_GCM"})
	sr := make([]byte, 28) // SR, no report blocks
	sr[0], sr[1], sr[3] = 0x80, 200, 6
	enc, err := ctx(t, k.cKey).EncryptRTCP(nil, sr, nil)
	require.NoError(t, err)
	_, err = k.c.RTCP.WriteToUDPAddrPort(enc, netip.AddrPortFrom(k.toC.Addr(), k.toC.Port()+1))
	require.NoError(t, err)
	got := recvRaw(t, k.cc.rtcpIn)
	dec, err := ctx(t, k.toCCKey).DecryptRTCP(nil, got, nil)
	require.NoError(t, err)
	assert.Equal(t, byte(200), dec[1])
	assert.Len(t, dec, 28)
}

// TestManySessionsConcurrently negotiates, relays and closes calls in
// parallel; goleak (TestMain) and PortsInUse check nothing is left behind.
func TestManySessionsConcurrently(t *testing.T) {
	m := newTestManager(t, Config{Inactivity: time.Minute})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession(fmt.Sprint("c", i), LegPolicy{SRTP: "optional"}, LegPolicy{})
			if !assert.NoError(t, err) {
				return
			}
			defer s.Close()
			c, cc := newPhone(t), newPhone(t)
			toC, _ := call(t, s, c, cc, c.sdp("0"), cc.sdp("0"))
			c.send(toC, hdr(0, 1, 1), []byte("x"))
			cc.recv()
		}()
	}
	wg.Wait()
	assert.Equal(t, 0, m.PortsInUse())
}
