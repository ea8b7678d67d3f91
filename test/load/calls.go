package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/srtp/v2"

	"github.com/tonewall/tonewall/internal/sbctest"
)

var suites = map[string]struct {
	name    string
	profile srtp.ProtectionProfile
	keyLen  int
}{
	"aes80": {"AES_CM_128_HMAC_SHA1_80", srtp.ProtectionProfileAes128CmHmacSha1_80, 30},
	"aes32": {"AES_CM_128_HMAC_SHA1_32", srtp.ProtectionProfileAes128CmHmacSha1_32, 30},
	"gcm":   {"AEAD_AES_128_GCM", srtp.ProtectionProfileAeadAes128Gcm, 28},
}

// ringLen is how many send times a phone keeps, by sequence number: 20 s of
// packets, far beyond any latency worth measuring.
const ringLen = 1024

// phone is one simulated endpoint, in the phones process: the test kit's
// Phone sending 20 ms PCMU packets of speech-like audio, timing what it
// receives. Send times travel out of band: the sender keeps them by
// sequence number, and the receiver maps the relayed packet's sequence
// number back to the sender's (the relay renumbers each leg with a
// constant offset, learned from the first packet, which alone carries the
// marker bit). The payload is never read, so a stage that rewrites or
// delays audio does not disturb it.
type phone struct {
	*sbctest.Phone
	src      *phone // the phone whose packets it receives
	first    uint16 // first sequence number sent: the one with the marker bit
	frame    int    // next frame of speechFrames to send
	key      []byte
	sentAt   [ringLen]atomic.Uint64 // seq<<48 | send time in ns since epoch (48 bits)
	sent     atomic.Uint64
	received uint64 // owned by receive
	timed    uint64 // received packets whose send time was found; owned by receive
	lat      []time.Duration
}

var epoch = time.Now()

const ns48 = 1<<48 - 1

func newPhone(srtpMode string) (*phone, error) {
	kit, err := sbctest.NewPhone()
	if err != nil {
		return nil, err
	}
	_ = kit.Conn.SetReadBuffer(1 << 20)
	kit.SSRC, kit.Seq, kit.TS = mrand.Uint32(), uint16(mrand.Uint32()), mrand.Uint32()
	p := &phone{Phone: kit, first: kit.Seq + 1, frame: mrand.IntN(len(speechFrames))}
	if s, ok := suites[srtpMode]; ok {
		p.key = make([]byte, s.keyLen)
		_, _ = rand.Read(p.key)
		if p.Seal, err = srtp.CreateContext(p.key[:16], p.key[16:], s.profile); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// connect points the phone at peer's port and installs peer's key, the one
// the other side encrypts with toward this phone.
func (p *phone) connect(peer endpoint, srtpMode string) error {
	p.To = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: peer.Port}
	s, ok := suites[srtpMode]
	if !ok {
		return nil
	}
	if len(peer.Key) != s.keyLen {
		return fmt.Errorf("receive key of %d bytes for %s", len(peer.Key), s.name)
	}
	var err error
	p.Open, err = srtp.CreateContext(peer.Key[:16], peer.Key[16:], s.profile, srtp.SRTPReplayProtection(128))
	return err
}

func (p *phone) send(buf, sealed []byte) {
	h := p.Next(0, false, p.TS)
	h.Marker = h.SequenceNumber == p.first
	p.TS += 160
	p.sentAt[h.SequenceNumber%ringLen].Store(uint64(h.SequenceNumber)<<48 | uint64(time.Since(epoch))&ns48)
	payload := speechFrames[p.frame]
	p.frame = (p.frame + 1) % len(speechFrames)
	if p.WriteTo(buf, sealed, h, payload, p.To.AddrPort()) == nil {
		p.sent.Add(1)
	}
}

// receive runs until the socket is closed.
func (p *phone) receive() {
	buf, opened := make([]byte, 1500), make([]byte, 1500)
	var offset uint16 // relayed sequence number - sender's
	learned := false
	for {
		b, err := p.Read(buf, opened)
		if err != nil {
			return
		}
		if len(b) < 12 {
			continue
		}
		now := time.Since(epoch)
		p.received++
		seq := binary.BigEndian.Uint16(b[2:])
		if !learned {
			if b[1]&0x80 == 0 { // the first packet was lost: this call stays untimed
				continue
			}
			offset, learned = seq-p.src.first, true
		}
		seq -= offset
		e := p.src.sentAt[seq%ringLen].Load()
		if uint16(e>>48) != seq {
			continue
		}
		p.timed++
		p.lat = append(p.lat, now-time.Duration(e&ns48))
	}
}

// sdp is the SDP of a phone with this port and key (nil: plain RTP).
func sdp(port int, key []byte, srtpMode string) []byte {
	proto, crypto := "RTP/AVP", ""
	if s, ok := suites[srtpMode]; ok {
		proto = "RTP/SAVP"
		crypto = fmt.Sprintf("a=crypto:1 %s inline:%s\r\n", s.name, base64.StdEncoding.EncodeToString(key))
	}
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d %s 0\r\na=rtpmap:0 PCMU/8000\r\n%sa=sendrecv\r\n", port, proto, crypto))
}

// sdpKey is the key in an SDP's a=crypto line, or nil with SRTP off.
func sdpKey(srtpMode, sdp string) ([]byte, error) {
	if _, ok := suites[srtpMode]; !ok {
		return nil, nil
	}
	i := strings.Index(sdp, "inline:")
	if i < 0 {
		return nil, errors.New("no a=crypto in the relay's SDP")
	}
	b64 := strings.Fields(sdp[i+len("inline:"):])[0]
	// RFC 4568 leaves the padding open; rtpengine omits it.
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.Split(b64, "|")[0], "="))
}
