package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
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

// phone is one simulated endpoint, in the phones process: it sends 20 ms
// PCMU packets of speech-like audio and times what it receives. Send times
// travel out of band: the sender keeps them by sequence number, and the
// receiver maps the relayed packet's sequence number back to the sender's
// (the relay renumbers each leg with a constant offset, learned from the
// first packet, which alone carries the marker bit). The payload is never
// read, so a stage that rewrites or delays audio does not disturb it.
type phone struct {
	conn     *net.UDPConn
	peer     netip.AddrPort // where its packets go (relay or forwarder)
	src      *phone         // the phone whose packets it receives
	ssrc     uint32
	seq      uint16 // last sent
	first    uint16 // first sent: the one with the marker bit
	frame    int    // next frame of speechFrames to send
	tx, rx   *srtp.Context
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
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(1 << 20)
	seq := uint16(mrand.Uint32())
	p := &phone{conn: c, ssrc: mrand.Uint32(), seq: seq, first: seq + 1, frame: mrand.IntN(len(speechFrames))}
	if s, ok := suites[srtpMode]; ok {
		p.key = make([]byte, s.keyLen)
		_, _ = rand.Read(p.key)
		if p.tx, err = srtp.CreateContext(p.key[:16], p.key[16:], s.profile); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *phone) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// connect points the phone at peer's port and installs peer's key, the one
// the other side encrypts with toward this phone.
func (p *phone) connect(peer endpoint, srtpMode string) error {
	p.peer = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(peer.Port))
	return p.setRxKey(srtpMode, peer.Key)
}

// setRxKey installs the key the other side encrypts with toward this phone.
func (p *phone) setRxKey(srtpMode string, key []byte) error {
	s, ok := suites[srtpMode]
	if !ok {
		return nil
	}
	if len(key) != s.keyLen {
		return fmt.Errorf("receive key of %d bytes for %s", len(key), s.name)
	}
	var err error
	p.rx, err = srtp.CreateContext(key[:16], key[16:], s.profile, srtp.SRTPReplayProtection(128))
	return err
}

func (p *phone) send(buf, sealed []byte) {
	p.seq++
	now := uint64(time.Since(epoch))
	p.sentAt[p.seq%ringLen].Store(uint64(p.seq)<<48 | now&ns48)
	payload := speechFrames[p.frame]
	p.frame = (p.frame + 1) % len(speechFrames)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, Marker: p.seq == p.first, SequenceNumber: p.seq,
		Timestamp: uint32(p.seq) * 160, SSRC: p.ssrc}, Payload: payload}
	n, err := pkt.MarshalTo(buf)
	if err != nil {
		return
	}
	out := buf[:n]
	if p.tx != nil {
		if out, err = p.tx.EncryptRTP(sealed, out, nil); err != nil {
			return
		}
	}
	if _, err := p.conn.WriteToUDPAddrPort(out, p.peer); err == nil {
		p.sent.Add(1)
	}
}

// receive runs until the socket is closed.
func (p *phone) receive() {
	buf, dec := make([]byte, 1500), make([]byte, 1500)
	var offset uint16 // relayed sequence number - sender's
	learned := false
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			return
		}
		b := buf[:n]
		if p.rx != nil {
			if b, err = p.rx.DecryptRTP(dec, b, nil); err != nil {
				continue
			}
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
