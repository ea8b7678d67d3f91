package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
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

// phone is one simulated endpoint: it sends 20 ms G.711 packets stamped with
// the send time and records the latency of what it receives.
type phone struct {
	conn     *net.UDPConn
	peer     netip.AddrPort // where its packets go (relay or forwarder)
	ssrc     uint32
	seq      uint16
	tx, rx   *srtp.Context
	key      []byte
	profile  srtp.ProtectionProfile
	sent     atomic.Uint64
	received atomic.Uint64
	mu       sync.Mutex
	lat      []time.Duration // guarded by mu
}

var epoch = time.Now()

func newPhone(srtpMode string) (*phone, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(1 << 20)
	p := &phone{conn: c, ssrc: uint32(time.Now().UnixNano())}
	if s, ok := suites[srtpMode]; ok {
		p.key, p.profile = make([]byte, s.keyLen), s.profile
		_, _ = rand.Read(p.key)
		if p.tx, err = srtp.CreateContext(p.key[:16], p.key[16:], s.profile); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *phone) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// sdp is the phone's SDP; with SRTP it carries its key.
func (p *phone) sdp(srtpMode string) []byte {
	proto, crypto := "RTP/AVP", ""
	if s, ok := suites[srtpMode]; ok {
		proto = "RTP/SAVP"
		crypto = fmt.Sprintf("a=crypto:1 %s inline:%s\r\n", s.name, base64.StdEncoding.EncodeToString(p.key))
	}
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d %s 0\r\na=rtpmap:0 PCMU/8000\r\n%sa=sendrecv\r\n", p.port(), proto, crypto))
}

// setPeerKey installs the key the other side encrypts with toward this phone.
func (p *phone) setPeerKey(srtpMode, sdp string) error {
	s, ok := suites[srtpMode]
	if !ok {
		return nil
	}
	i := strings.Index(sdp, "inline:")
	if i < 0 {
		return errors.New("no a=crypto in tonewall's SDP")
	}
	b64 := strings.Fields(sdp[i+len("inline:"):])[0]
	key, err := base64.StdEncoding.DecodeString(strings.Split(b64, "|")[0])
	if err != nil {
		return err
	}
	p.rx, err = srtp.CreateContext(key[:16], key[16:], s.profile, srtp.SRTPReplayProtection(128))
	return err
}

func (p *phone) send(payload, buf, sealed []byte) {
	p.seq++
	binary.BigEndian.PutUint64(payload, uint64(time.Since(epoch)))
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seq, Timestamp: uint32(p.seq) * 160, SSRC: p.ssrc}, Payload: payload}
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
		if len(b) < 12+8 {
			continue
		}
		sentAt := time.Duration(binary.BigEndian.Uint64(b[12:]))
		p.received.Add(1)
		p.mu.Lock()
		p.lat = append(p.lat, time.Since(epoch)-sentAt)
		p.mu.Unlock()
	}
}

// tx2rx is a receiving context for this phone's own key: through the bare
// forwarder the peer gets exactly what this phone encrypted.
func (p *phone) tx2rx() *srtp.Context {
	if p.tx == nil {
		return nil
	}
	c, err := srtp.CreateContext(p.key[:16], p.key[16:], p.profile, srtp.SRTPReplayProtection(128))
	if err != nil {
		return nil
	}
	return c
}
