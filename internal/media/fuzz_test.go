package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
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
		out, err := s.Offer(Carrier, raw)
		checkRefusal(t, err)
		if err == nil {
			checkCrossed(t, m.advertise, raw, out)
			_, err = s.Answer(ContactCenter, raw)
			checkRefusal(t, err)
		}
		s.Rollback()
	})
}

// FuzzRelayPacket feeds arbitrary datagrams from the signalled source into
// the packet path of a plain and an SRTP leg, on the SRTP leg both as they
// come and sealed with the carrier's key.
func FuzzRelayPacket(f *testing.F) {
	rtpSeed, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, SSRC: 1, CSRC: []uint32{2}}, Payload: make([]byte, 160)}).Marshal()
	f.Add(rtpSeed)
	f.Add([]byte{0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9})                                     // padding larger than the payload
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff})                // extension longer than the packet
	f.Add([]byte{0x81, 200, 0, 12, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6}) // SR claiming more than it has
	plain, _, from := benchCall(f, "", "")
	secure, key, sfrom := benchCall(f, "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM")
	rec := &recorder{}
	plain.s.sink = rec
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > bufSize {
			b = b[:bufSize]
		}
		rec.out = rec.out[:0]
		plain.handle(append([]byte(nil), b...), from)
		for _, out := range rec.out { // RTP to RTP: renumbered, never grown
			checkRelayed(t, b, out)
		}
		secure.handle(append([]byte(nil), b...), sfrom)
		// The same bytes as the carrier would send them, sealed with its
		// key: past authentication into decryption, renumbering and GCM.
		sealed, err := key.EncryptRTP(nil, b, nil)
		if looksLikeRTCP(b) {
			sealed, err = key.EncryptRTCP(nil, b, nil)
		}
		if err == nil && len(sealed) <= bufSize {
			secure.handle(sealed, sfrom)
		}
	})
}

func FuzzRewriteRTCP(f *testing.F) {
	f.Add([]byte{0x81, 201, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0x81, 200, 0, 1, 1, 2, 3, 4})
	f.Add([]byte{0x81, 200, 0, 12, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 160,
		5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // SR with one report block
		0x81, 202, 0, 1, 1, 2, 3, 4}) // then an SDES of one chunk
	f.Add([]byte{0x81, 206, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]byte(nil), b...)
		if !rewriteRTCP(b, &rtcpMap{sender: 1, media: 2, ts: true, tsAdd: 3, seq: true, seqSub: 4}) {
			return
		}
		// Accepted: every packet of the compound keeps its header word and
		// length, and the walk covered the whole datagram.
		for len(b) > 0 {
			n := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
			if !bytes.Equal(b[:4], in[:4]) || n > len(b) {
				t.Fatalf("rewritten compound lost its framing: %x from %x", b, in)
			}
			b, in = b[n:], in[n:]
		}
	})
}

func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 " + aesKey + "|2^20|1:4")
	f.Add("2 AEAD_AES_128_GCM inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0")
	f.Add("1 AES_CM_128_HMAC_SHA1_32 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:1")
	f.Add("7 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz;inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz")
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz KDR=1 UNENCRYPTED_SRTP")
	f.Fuzz(func(t *testing.T, v string) {
		c, ok := parseCrypto(v)
		if !ok {
			return
		}
		if len(c.Key) != c.Suite.KeyLen+c.Suite.SaltLen {
			t.Fatalf("key of %d bytes accepted for %s", len(c.Key), c.Suite.Name)
		}
		if back, ok := parseCrypto(c.sdpValue()); !ok || !back.same(c) {
			t.Fatalf("%q does not read back as itself", c.sdpValue())
		}
		if strings.Contains(c.String(), c.sdpValue()[strings.Index(c.sdpValue(), "inline:"):]) {
			t.Fatal("String shows the key")
		}
	})
}

// carrierOffers are what FuzzAnswer answers: SDES, plain RTP, and an offer
// whose second m= line the answer must keep, rejected.
var carrierOffers = [][]byte{
	sdpAt("192.0.2.1", 5004, "RTP/SAVP", "0 8 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16",
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 "+aesKey, "a=ptime:20"),
	sdpAt("192.0.2.1", 5004, "RTP/AVP", "8 0 18 101", "a=rtpmap:18 G729/8000", "a=rtpmap:101 telephone-event/8000"),
	append(sdpAt("192.0.2.1", 5004, "RTP/AVP", "0"), "m=video 5006 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"...),
}

// FuzzAnswer drives the contact center's answer to a real carrier offer on
// a fresh session each time: a refusal carries its SIP status, and an
// accepted answer becomes one the carrier can take (see checkAnswered).
func FuzzAnswer(f *testing.F) {
	m := newTestManager(f, Config{})
	for i, o := range carrierOffers {
		s, err := m.NewSession("seed", LegPolicy{SRTP: SRTPOptional}, LegPolicy{SRTP: SRTPOptional})
		if err != nil {
			f.Fatal(err)
		}
		ccOffer, err := s.Offer(Carrier, o)
		if err != nil {
			f.Fatal(err)
		}
		s.Close()
		// An answer from the contact-center phone that takes tonewall's offer as is.
		ans := bytes.ReplaceAll(ccOffer, []byte(m.advertise.String()), []byte("198.51.100.7"))
		f.Add(uint8(i), ans)
		f.Add(uint8(i), bytes.Replace(ans, []byte("a=sendrecv"), []byte("a=recvonly"), 1))
		f.Add(uint8(i), sdpAt("198.51.100.7", 7000, "RTP/AVP", "0 101", "a=rtpmap:101 telephone-event/8000", "a=rtcp-mux"))
	}
	f.Add(uint8(0), sdpAt("198.51.100.7", 7000, "RTP/SAVP", "0", "a=crypto:9 AEAD_AES_128_GCM inline:MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0"))
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		offer := carrierOffers[int(which)%len(carrierOffers)]
		s, err := m.NewSession("fuzz", LegPolicy{SRTP: SRTPOptional}, LegPolicy{SRTP: SRTPOptional, Codecs: []string{"PCMA", "PCMU"}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Offer(Carrier, offer); err != nil {
			t.Fatal(err)
		}
		out, err := s.Answer(ContactCenter, raw)
		checkRefusal(t, err)
		if err == nil {
			checkCrossed(t, m.advertise, raw, out)
			checkAnswered(t, offer, out)
		}
	})
}

// checkRefusal: whatever SDP is refused for, the refusal names a SIP status.
func checkRefusal(t *testing.T, err error) {
	var se *SDPError
	if err != nil && !errors.As(err, &se) {
		t.Fatalf("refused without a SIP status (the B2BUA would answer 500): %v", err)
	}
}

// checkCrossed: SDP that tonewall wrote parses with its own parser, names
// only tonewall's address, and carries none of the keys that came in.
func checkCrossed(t *testing.T, advertise netip.Addr, in, out []byte) {
	p, err := parseSDP(out)
	if err != nil {
		t.Fatalf("tonewall wrote SDP it cannot read: %v\n%s", err, out)
	}
	if p.media.Addr != advertise || p.sd.Origin.UnicastAddress != advertise.String() {
		t.Fatalf("SDP names another address than %s:\n%s", advertise, out)
	}
	for _, f := range strings.FieldsFunc(string(in), func(r rune) bool { return r == ' ' || r == '\r' || r == '\n' || r == '|' }) {
		if k, ok := strings.CutPrefix(f, "inline:"); ok && len(k) >= 16 && bytes.Contains(out, []byte(k)) {
			t.Fatalf("SRTP key %q crossed legs", k)
		}
	}
}

// checkAnswered: the answer to the carrier keeps its offer's m= lines in
// order and picks only voice codecs it offered (RFC 3264 6).
func checkAnswered(t *testing.T, offer, answer []byte) {
	o, a := mustParse(t, offer), mustParse(t, answer)
	if len(a.sd.MediaDescriptions) != len(o.sd.MediaDescriptions) || a.index != o.index {
		t.Fatalf("answer has %d m= lines (audio at %d) for an offer of %d (audio at %d)",
			len(a.sd.MediaDescriptions), a.index, len(o.sd.MediaDescriptions), o.index)
	}
	for _, c := range a.media.Codecs {
		if c.isVoice() && !containsCodec(o.media.Codecs, c) {
			t.Fatalf("answer picks %s/%d, which the carrier did not offer", c.Name, c.Rate)
		}
	}
}

func mustParse(t *testing.T, raw []byte) *parsedSDP {
	p, err := parseSDP(raw)
	if err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return p
}

// recorder keeps what the relay sends instead of sending it.
type recorder struct{ out [][]byte }

func (r *recorder) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	r.out = append(r.out, append([]byte(nil), b...))
	return len(b), nil
}

// checkRelayed: a packet relayed between plain legs is RTP (or RTCP) again
// and no larger than what came in.
func checkRelayed(t *testing.T, in, out []byte) {
	if len(out) > len(in) {
		t.Fatalf("relayed %d bytes for %d: %x", len(out), len(in), out)
	}
	if looksLikeRTCP(in) {
		return
	}
	var h rtp.Header
	if _, err := h.Unmarshal(out); err != nil || h.Version != 2 {
		t.Fatalf("relayed a packet that is not RTP (%v): %x", err, out)
	}
}
