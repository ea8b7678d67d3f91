package media

import (
	"testing"

	"github.com/pion/rtp"
)

var sdpSeeds = [][]byte{
	sdpAt("192.0.2.1", 5004, "RTP/AVP", "0 8 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv"),
	sdpAt("0.0.0.0", 5004, "RTP/SAVP", "0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+aesKey+"|2^31", "a=rtcp:5005 IN IP4 192.0.2.9", "a=rtcp-mux"),
	sdpAt("2001:db8::1", 5004, "RTP/AVP", "111", "a=rtpmap:111 opus/48000/2"),
	[]byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\nm=video 2 RTP/AVP 96\r\n"),
}

// FuzzOffer drives Offer and Answer with arbitrary SDP: errors are fine,
// panics are not.
func FuzzOffer(f *testing.F) {
	for _, s := range sdpSeeds {
		f.Add(s)
	}
	m := newTestManager(f, Config{})
	s, err := m.NewSession("fuzz", LegPolicy{SRTP: "optional"}, LegPolicy{SRTP: "optional", Codecs: []string{"PCMU", "opus"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, raw []byte) {
		if _, err := s.Offer(Carrier, raw); err == nil {
			_, _ = s.Answer(ContactCenter, raw)
		}
		s.Rollback()
	})
}

// FuzzRelayPacket feeds arbitrary datagrams from the signalled source into
// the packet path of a plain and an SRTP leg.
func FuzzRelayPacket(f *testing.F) {
	rtpSeed, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, SSRC: 1, CSRC: []uint32{2}}, Payload: make([]byte, 160)}).Marshal()
	f.Add(rtpSeed)
	f.Add([]byte{0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9})                                     // padding larger than the payload
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff})                // extension longer than the packet
	f.Add([]byte{0x81, 200, 0, 12, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6}) // SR claiming more than it has
	plain, _, from := benchCall(f, "", "")
	secure, _, sfrom := benchCall(f, "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM")
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > bufSize {
			b = b[:bufSize]
		}
		plain.handle(append([]byte(nil), b...), from)
		secure.handle(append([]byte(nil), b...), sfrom)
	})
}

func FuzzRewriteRTCP(f *testing.F) {
	f.Add([]byte{0x81, 201, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0x81, 200, 0, 1, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		rewriteRTCP(b, &rtcpMap{sender: 1, media: 2, ts: true, tsAdd: 3, seq: true, seqSub: 4})
	})
}

func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 " + aesKey + "|2^20|1:4")
	f.Add("2 AEAD_AES_128_GCM inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0")
	f.Fuzz(func(t *testing.T, v string) {
		if c, ok := parseCrypto(v); ok && len(c.Key) != c.Suite.KeyLen+c.Suite.SaltLen {
			t.Fatalf("key of %d bytes accepted for %s", len(c.Key), c.Suite.Name)
		}
	})
}
