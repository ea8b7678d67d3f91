package media

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dtlsPeer runs the phone's side of DTLS-SRTP toward tonewall at `to`.
type dtlsPeer struct {
	id   *identity
	link *dtlsLink
	conn *dtls.Conn
}

func newDTLSPeer(t *testing.T, p *phone) *dtlsPeer {
	id, err := newIdentity()
	require.NoError(t, err)
	d := &dtlsLink{in: make(chan []byte, 16), closed: make(chan struct{})}
	// pion waits for the reader: the link's reads end with the handshake's context
	d.ctx, d.cancel = context.WithTimeout(context.Background(), 5*time.Second)
	p.dtls.Store(d)
	t.Cleanup(func() { d.close() })
	return &dtlsPeer{id: id, link: d}
}

// handshake runs as client or server; `to` is tonewall's port toward the phone.
func (d *dtlsPeer) handshake(t *testing.T, p *phone, to netip.AddrPort, client bool, tonewallFP string) {
	require.NoError(t, d.try(p, to, client, tonewallFP))
}

func (d *dtlsPeer) try(p *phone, to netip.AddrPort, client bool, tonewallFP string) error {
	d.link.write = func(b []byte) (int, error) { return p.Conn.WriteToUDPAddrPort(b, to) }
	cfg := &dtls.Config{
		Certificates: []tls.Certificate{d.id.cert}, InsecureSkipVerify: true, ClientAuth: dtls.RequireAnyClientCert,
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		ExtendedMasterSecret:   dtls.RequireExtendedMasterSecret,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if !sameFingerprint(fingerprint(raw[0]), tonewallFP) {
				return errFingerprint
			}
			return nil
		},
	}
	ctx := d.link.ctx
	var err error
	if client {
		d.conn, err = dtls.ClientWithContext(ctx, packetConn{d.link}, cfg)
	} else {
		d.conn, err = dtls.ServerWithContext(ctx, packetConn{d.link}, cfg)
	}
	if err != nil {
		return err
	}
	d.link.ready.Store(true)
	d.link.mu.Lock()
	d.link.conn = d.conn
	d.link.mu.Unlock()
	return nil
}

func sdpValue(raw []byte, key string) string {
	for _, l := range strings.Split(string(raw), "\r\n") {
		if strings.HasPrefix(l, "a="+key+":") {
			return strings.TrimPrefix(l, "a="+key+":")
		}
	}
	return ""
}

func TestDTLSSRTPToContactCenter(t *testing.T) {
	for _, ccSetup := range []string{"passive", "active"} {
		t.Run("cc "+ccSetup, func(t *testing.T) {
			m := newTestManager(t, Config{})
			s := testSession(t, m, "dtls", LegPolicy{}, LegPolicy{SRTP: "required", KeyExchange: "dtls"})
			c, cc := newPhone(t), newPhone(t)
			peer := newDTLSPeer(t, cc)
			offer, err := s.Offer(Carrier, c.sdp("0"))
			require.NoError(t, err)
			assert.Contains(t, string(offer), "m=audio ")
			assert.Contains(t, string(offer), "UDP/TLS/RTP/SAVP 0")
			assert.Equal(t, "actpass", sdpValue(offer, "setup"))
			ourFP := sdpValue(offer, "fingerprint")
			require.True(t, strings.HasPrefix(ourFP, "sha-256 "))
			answer, err := s.Answer(ContactCenter, sdpAt("127.0.0.1", cc.Port(), "UDP/TLS/RTP/SAVP", "0",
				"a=fingerprint:"+peer.id.fingerprint, "a=setup:"+ccSetup))
			require.NoError(t, err)
			toC, toCC := remote(t, answer), remote(t, offer)

			c.send(toC, hdr(0, 1, 160), []byte("before keys")) // never sent in clear
			peer.handshake(t, cc, toCC, ccSetup == "active", ourFP)
			require.Eventually(t, func() bool { return strings.Contains(s.Pipeline(Carrier), "srtp-seal") }, 5*time.Second, 5*time.Millisecond)
			rx, tx, err := dtlsKeys(peer.conn, ccSetup == "active")
			require.NoError(t, err)

			c.send(toC, hdr(0, 2, 320), []byte("secret audio"))
			assert.Equal(t, []byte("secret audio"), openRTP(t, ctx(t, rx), recvRaw(t, cc.rtpIn)).Payload)
			cc.Seal = ctx(t, tx)
			cc.send(toCC, hdr(0, 1, 1), []byte("agent"))
			assert.Equal(t, []byte("agent"), c.recv().Payload)
		})
	}
}

func TestDTLSOfferFromCarrier(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "dtls-in", LegPolicy{SRTP: "required", KeyExchange: "dtls"}, LegPolicy{})
	c, cc := newPhone(t), newPhone(t)
	peer := newDTLSPeer(t, c)
	offer, err := s.Offer(Carrier, sdpAt("127.0.0.1", c.Port(), "UDP/TLS/RTP/SAVP", "0",
		"a=fingerprint:"+peer.id.fingerprint, "a=setup:actpass"))
	require.NoError(t, err)
	assert.Contains(t, string(offer), "RTP/AVP 0")
	assert.NotContains(t, string(offer), "fingerprint")
	answer, err := s.Answer(ContactCenter, cc.sdp("0"))
	require.NoError(t, err)
	assert.Equal(t, "active", sdpValue(answer, "setup"), "tonewall answers actpass as the DTLS client")
	assert.Contains(t, string(answer), "UDP/TLS/RTP/SAVP 0")
	toC, toCC := remote(t, answer), remote(t, offer)
	peer.handshake(t, c, toC, false, sdpValue(answer, "fingerprint"))
	require.Eventually(t, func() bool { return strings.Contains(s.Pipeline(Carrier), "srtp-open") }, 5*time.Second, 5*time.Millisecond)
	rx, tx, err := dtlsKeys(peer.conn, false)
	require.NoError(t, err)
	c.Seal = ctx(t, tx)
	c.send(toC, hdr(0, 5, 800), []byte("card audio"))
	assert.Equal(t, []byte("card audio"), cc.recv().Payload)
	cc.send(toCC, hdr(0, 1, 1), []byte("agent"))
	assert.Equal(t, []byte("agent"), openRTP(t, ctx(t, rx), recvRaw(t, c.rtpIn)).Payload)

	// A re-INVITE with the same fingerprint keeps the association and keys.
	_, err = s.Offer(Carrier, sdpAt("127.0.0.1", c.Port(), "UDP/TLS/RTP/SAVP", "0", "a=fingerprint:"+peer.id.fingerprint, "a=setup:actpass"))
	require.NoError(t, err)
	_, err = s.Answer(ContactCenter, cc.sdp("0"))
	require.NoError(t, err)
	c.send(toC, hdr(0, 6, 960), []byte("still keyed"))
	assert.Equal(t, []byte("still keyed"), cc.recv().Payload)
}

func TestDTLSWrongFingerprintNeverSendsClear(t *testing.T) {
	m := newTestManager(t, Config{})
	m.handshakeTimeout = 500 * time.Millisecond
	s := testSession(t, m, "dtls-bad", LegPolicy{}, LegPolicy{SRTP: "required", KeyExchange: "dtls"})
	c, cc := newPhone(t), newPhone(t)
	peer := newDTLSPeer(t, cc)
	offer, err := s.Offer(Carrier, c.sdp("0"))
	require.NoError(t, err)
	other, err := newIdentity()
	require.NoError(t, err)
	answer, err := s.Answer(ContactCenter, sdpAt("127.0.0.1", cc.Port(), "UDP/TLS/RTP/SAVP", "0",
		"a=fingerprint:"+other.fingerprint, "a=setup:passive"))
	require.NoError(t, err)
	peerDone := make(chan error, 1)
	toCC := remote(t, offer)
	go func() { peerDone <- peer.try(cc, toCC, false, sdpValue(offer, "fingerprint")) }()
	for i := range 5 {
		c.send(remote(t, answer), hdr(0, uint16(i), uint32(i)*160), []byte("card digits"))
		time.Sleep(20 * time.Millisecond)
	}
	cc.quiet(100 * time.Millisecond)
	assert.Contains(t, s.Pipeline(Carrier), "drop(dtls-handshake)")
	require.True(t, endsWithin(s, 3*time.Second), "a failed handshake did not end the session")
	assert.ErrorIs(t, s.Err(), ErrDTLS)
	peer.link.close()
	assert.Error(t, <-peerDone)
}

func TestDTLSRequiredRejectsPlainAnswer(t *testing.T) {
	m := newTestManager(t, Config{})
	s := testSession(t, m, "dtls-req", LegPolicy{}, LegPolicy{SRTP: "required", KeyExchange: "dtls"})
	_, err := s.Offer(Carrier, sdpAt("192.0.2.1", 4000, "RTP/AVP", "0"))
	require.NoError(t, err)
	_, err = s.Answer(ContactCenter, sdpAt("192.0.2.2", 4000, "RTP/AVP", "0"))
	assert.ErrorIs(t, err, ErrSRTPRequired)
	_, err = s.Answer(ContactCenter, sdpAt("192.0.2.2", 4000, "UDP/TLS/RTP/SAVP", "0", "a=setup:active"))
	assert.ErrorIs(t, err, ErrBadCrypto, "no fingerprint")
}

func TestMatchesFingerprint(t *testing.T) {
	id, err := newIdentity()
	require.NoError(t, err)
	der := id.cert.Certificate[0]
	for _, alg := range []string{"sha-1", "SHA-256", "sha-384", "sha-512"} {
		fp, ok := fingerprintWith(alg, der)
		require.True(t, ok)
		assert.True(t, matchesFingerprint(der, strings.ToLower(fp)), alg)
		assert.True(t, matchesFingerprint(der, strings.ToUpper(fp)), alg)
	}
	other, _ := newIdentity()
	assert.False(t, matchesFingerprint(der, other.fingerprint))
	assert.False(t, matchesFingerprint(der, "md5 AB:CD"))
	assert.False(t, matchesFingerprint(der, ""))
}
