package media

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyLine makes a fresh a=crypto attribute line for a test endpoint.
func keyLine(t testing.TB, tag int, suiteName string) (string, cryptoAttr) {
	s, ok := suiteByName(suiteName)
	require.True(t, ok)
	c, err := newCrypto(tag, s)
	require.NoError(t, err)
	return "a=crypto:" + c.sdpValue(), c
}

// offeredCrypto reads the crypto tonewall put into an SDP it wrote.
func offeredCrypto(t testing.TB, raw []byte) []cryptoAttr {
	p, err := parseSDP(raw)
	require.NoError(t, err)
	return p.media.Crypto
}

func ctx(t testing.TB, c cryptoAttr) *srtp.Context {
	x, err := srtp.CreateContext(c.Key[:c.Suite.KeyLen], c.Key[c.Suite.KeyLen:], c.Suite.Profile)
	require.NoError(t, err)
	return x
}

func seal(t testing.TB, c *srtp.Context, h rtp.Header, payload []byte) []byte {
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	require.NoError(t, err)
	out, err := c.EncryptRTP(nil, b, nil)
	require.NoError(t, err)
	return out
}

func recvRaw(t testing.TB, ch chan []byte) []byte {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(2 * time.Second):
		t.Fatal("no packet relayed")
		return nil
	}
}

func openRTP(t testing.TB, c *srtp.Context, b []byte) *rtp.Packet {
	t.Helper()
	dec, err := c.DecryptRTP(nil, b, nil)
	require.NoError(t, err)
	var p rtp.Packet
	require.NoError(t, p.Unmarshal(dec))
	return &p
}

// TestSRTPEachSuiteInterworksWithRTP: a plain carrier, an SRTP contact center
// with each suite; both directions, RTP and SRTCP.
func TestSRTPEachSuiteInterworksWithRTP(t *testing.T) {
	for _, name := range allSuiteNames() {
		t.Run(name, func(t *testing.T) {
			m := newTestManager(t, Config{})
			s := testSession(t, m, "srtp", LegPolicy{}, LegPolicy{SRTP: "required", Suites: []string{name}})
			c, cc := newPhone(t), newPhone(t)
			offer, err := s.Offer(Carrier, c.sdp("0"))
			require.NoError(t, err)
			ours := offeredCrypto(t, offer)
			require.Len(t, ours, 1)
			line, theirs := keyLine(t, ours[0].Tag, name)
			answer, err := s.Answer(ContactCenter, sdpAt("127.0.0.1", cc.Port(), "RTP/SAVP", "0", line))
			require.NoError(t, err)
			assert.NotContains(t, string(answer), "crypto")
			toC, toCC := remote(t, answer), remote(t, offer)

			c.send(toC, hdr(0, 7, 160), []byte("to srtp"))
			got := openRTP(t, ctx(t, ours[0]), recvRaw(t, cc.rtpIn))
			assert.Equal(t, []byte("to srtp"), got.Payload)

			cc.Seal = ctx(t, theirs)
			cc.send(toCC, hdr(0, 3, 3), []byte("from srtp"))
			assert.Equal(t, []byte("from srtp"), c.recv().Payload)

			rr := []byte{0x80, 201, 0, 1, 1, 2, 3, 4}
			srtcp, err := ctx(t, theirs).EncryptRTCP(nil, rr, nil)
			require.NoError(t, err)
			_, err = cc.RTCP.WriteToUDPAddrPort(srtcp, netip.AddrPortFrom(toCC.Addr(), toCC.Port()+1))
			require.NoError(t, err)
			plain := recvRaw(t, c.rtcpIn)
			assert.Len(t, plain, 8, "SRTCP opened for the plain carrier")
			assert.Equal(t, byte(201), plain[1])
		})
	}
}

// srtpCall sets up SDES on both legs: the carrier offers suite cs, the
// contact center (policy ccSuites) answers with the first suite offered.
type srtpCall struct {
	s               *Session
	c, cc           *phone
	toC, toCC       netip.AddrPort
	cKey, ccKey     cryptoAttr // the phones' keys
	toCKey, toCCKey cryptoAttr // tonewall's keys toward each phone
}

func newSRTPCall(t *testing.T, m *Manager, cs string, ccSuites []string) *srtpCall {
	s, err := m.NewSession("srtp2", LegPolicy{SRTP: "required"}, LegPolicy{SRTP: "required", Suites: ccSuites})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	k := &srtpCall{s: s, c: newPhone(t), cc: newPhone(t)}
	var line string
	line, k.cKey = keyLine(t, 5, cs)
	offer, err := s.Offer(Carrier, sdpAt("127.0.0.1", k.c.Port(), "RTP/SAVP", "0", line))
	require.NoError(t, err)
	k.toCCKey = offeredCrypto(t, offer)[0]
	line, k.ccKey = keyLine(t, k.toCCKey.Tag, k.toCCKey.Suite.Name)
	answer, err := s.Answer(ContactCenter, sdpAt("127.0.0.1", k.cc.Port(), "RTP/SAVP", "0", line))
	require.NoError(t, err)
	k.toCKey = offeredCrypto(t, answer)[0]
	require.Equal(t, 5, k.toCKey.Tag, "answer keeps the offer's tag")
	k.toC, k.toCC = remote(t, answer), remote(t, offer)
	return k
}

func TestSRTPToSRTPReencrypts(t *testing.T) {
	for _, pair := range [][2]string{
		{"AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"},
		{"AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_32"},
		{"AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_80"},
	} {
		t.Run(pair[0]+"→"+pair[1], func(t *testing.T) {
			k := newSRTPCall(t, newTestManager(t, Config{}), pair[0], []string{pair[1]})
			assert.Equal(t, pair[1], k.toCCKey.Suite.Name)
			assert.False(t, k.toCCKey.Key.equal(k.cKey.Key), "each leg has its own key")
			k.c.Seal = ctx(t, k.cKey)
			for i := range 3 {
				k.c.send(k.toC, hdr(0, uint16(100+i), 160), []byte{byte(i)})
			}
			out := ctx(t, k.toCCKey)
			for i := range 3 {
				assert.Equal(t, []byte{byte(i)}, openRTP(t, out, recvRaw(t, k.cc.rtpIn)).Payload)
			}
			k.cc.Seal = ctx(t, k.ccKey)
			k.cc.send(k.toCC, hdr(0, 1, 1), []byte("back"))
			assert.Equal(t, []byte("back"), openRTP(t, ctx(t, k.toCKey), recvRaw(t, k.c.rtpIn)).Payload)
		})
	}
}

func TestSRTPReplayAndTamperDropped(t *testing.T) {
	k := newSRTPCall(t, newTestManager(t, Config{}), "AES_CM_128_HMAC_SHA1_80", nil)
	pkt := seal(t, ctx(t, k.cKey), hdr(0, 10, 160), []byte("once"))
	for range 2 {
		_, err := k.c.Conn.WriteToUDPAddrPort(pkt, k.toC)
		require.NoError(t, err)
	}
	tampered := seal(t, ctx(t, k.cKey), hdr(0, 11, 320), []byte("evil"))
	tampered[len(tampered)-12] ^= 1
	_, err := k.c.Conn.WriteToUDPAddrPort(tampered, k.toC)
	require.NoError(t, err)
	out := ctx(t, k.toCCKey)
	assert.Equal(t, []byte("once"), openRTP(t, out, recvRaw(t, k.cc.rtpIn)).Payload)
	k.cc.quiet(50 * time.Millisecond)
	st := k.s.Stats(Carrier)
	assert.Equal(t, uint64(1), st.Replayed)
	assert.Equal(t, uint64(1), st.AuthFailed)
}

// TestSRTPRekeyMidStream: the carrier re-INVITEs with a new key; tonewall
// re-keys both legs and packets keep flowing with continuous numbering.
func TestSRTPRekeyMidStream(t *testing.T) {
	k := newSRTPCall(t, newTestManager(t, Config{}), "AES_CM_128_HMAC_SHA1_80", nil)
	k.c.Seal = ctx(t, k.cKey)
	k.c.send(k.toC, hdr(0, 1, 160), []byte("old key"))
	out := ctx(t, k.toCCKey)
	first := openRTP(t, out, recvRaw(t, k.cc.rtpIn))

	// Same key again: tonewall keeps its keys.
	line := "a=crypto:" + k.cKey.sdpValue()
	same, err := k.s.Offer(Carrier, sdpAt("127.0.0.1", k.c.Port(), "RTP/SAVP", "0", line))
	require.NoError(t, err)
	assert.True(t, offeredCrypto(t, same)[0].same(k.toCCKey), "unchanged remote key: no re-key")
	k.s.Rollback()

	line, newKey := keyLine(t, 5, "AES_CM_128_HMAC_SHA1_80")
	reoffer, err := k.s.Offer(Carrier, sdpAt("127.0.0.1", k.c.Port(), "RTP/SAVP", "0", line))
	require.NoError(t, err)
	newCC := offeredCrypto(t, reoffer)
	require.NotEmpty(t, newCC)
	assert.False(t, newCC[0].Key.equal(k.toCCKey.Key), "new remote key: new keys toward the other leg")
	ccLine, _ := keyLine(t, newCC[0].Tag, newCC[0].Suite.Name)
	answer, err := k.s.Answer(ContactCenter, sdpAt("127.0.0.1", k.cc.Port(), "RTP/SAVP", "0", ccLine))
	require.NoError(t, err)
	assert.False(t, offeredCrypto(t, answer)[0].Key.equal(k.toCKey.Key))

	k.c.Seal = ctx(t, newKey)
	k.c.send(k.toC, hdr(0, 2, 320), []byte("new key"))
	second := openRTP(t, ctx(t, newCC[0]), recvRaw(t, k.cc.rtpIn))
	assert.Equal(t, []byte("new key"), second.Payload)
	assert.Equal(t, first.SequenceNumber+1, second.SequenceNumber)
	assert.Equal(t, first.SSRC, second.SSRC)
}

func TestSRTPOptionalAcceptsEitherAnswer(t *testing.T) {
	for _, withCrypto := range []bool{false, true} {
		t.Run(fmt.Sprint("crypto=", withCrypto), func(t *testing.T) {
			m := newTestManager(t, Config{})
			s := testSession(t, m, "opt", LegPolicy{}, LegPolicy{SRTP: "optional"})
			c, cc := newPhone(t), newPhone(t)
			offer, err := s.Offer(Carrier, c.sdp("0"))
			require.NoError(t, err)
			assert.Contains(t, string(offer), "RTP/AVP")
			ours := offeredCrypto(t, offer)
			require.Len(t, ours, 3)
			var extra []string
			if withCrypto {
				line, _ := keyLine(t, ours[1].Tag, ours[1].Suite.Name)
				extra = append(extra, line)
			}
			answer, err := s.Answer(ContactCenter, sdpAt("127.0.0.1", cc.Port(), "RTP/AVP", "0", extra...))
			require.NoError(t, err)
			c.send(remote(t, answer), hdr(0, 1, 1), []byte("hi"))
			b := recvRaw(t, cc.rtpIn)
			if withCrypto {
				assert.Equal(t, []byte("hi"), openRTP(t, ctx(t, ours[1]), b).Payload)
				return
			}
			var p rtp.Packet
			require.NoError(t, p.Unmarshal(b))
			assert.Equal(t, []byte("hi"), p.Payload)
		})
	}
}

func TestSRTPRequiredAnswerWithoutCryptoIs488(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "req", LegPolicy{}, LegPolicy{SRTP: "required"})
	_, err := s.Offer(Carrier, sdpAt("192.0.2.1", 5004, "RTP/AVP", "0"))
	require.NoError(t, err)
	_, err = s.Answer(ContactCenter, sdpAt("192.0.2.2", 5004, "RTP/AVP", "0"))
	assert.ErrorIs(t, err, ErrSRTPRequired)
	line, _ := keyLine(t, 9, "AES_CM_128_HMAC_SHA1_80")
	_, err = s.Answer(ContactCenter, sdpAt("192.0.2.2", 5004, "RTP/SAVP", "0", line))
	assert.ErrorIs(t, err, ErrBadCrypto, "tag 9 was never offered")
}

func TestKeysAreRedacted(t *testing.T) {
	_, c := keyLine(t, 1, "AES_CM_128_HMAC_SHA1_80")
	b64 := base64.StdEncoding.EncodeToString(c.Key)
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		for _, v := range []any{c, c.Key, &c} {
			out := fmt.Sprintf(f, v)
			assert.NotContains(t, out, b64)
			assert.NotContains(t, out, fmt.Sprintf("%x", []byte(c.Key)))
		}
	}
	assert.Equal(t, "[redacted]", c.Key.String())
}

func TestParseCrypto(t *testing.T) {
	good := "1 AES_CM_128_HMAC_SHA1_80 " + aesKey
	tests := []struct {
		in string
		ok bool
	}{
		{good, true},
		{good + "|2^20", true},
		{good + " UNENCRYPTED_SRTP", true},
		{good + "|2^20|1:4", false}, // MKI
		{"1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", false},
		{"1 F8_128_HMAC_SHA1_80 " + aesKey, false},
		{"x AES_CM_128_HMAC_SHA1_80 " + aesKey, false},
		{"1 AES_CM_128_HMAC_SHA1_80", false},
		{"", false},
	}
	for _, tt := range tests {
		_, ok := parseCrypto(tt.in)
		assert.Equal(t, tt.ok, ok, tt.in)
	}
}
