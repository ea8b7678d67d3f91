package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

// The SRTP transforms of RFC 3711 (AES counter mode, HMAC-SHA1) and RFC 7714
// (AES-GCM) for RTP, written so that protecting and unprotecting a packet
// allocate nothing. SRTCP, a few packets per second, uses pion/srtp.

var (
	errSRTPAuth   = errors.New("srtp: authentication failed")
	errSRTPReplay = errors.New("srtp: replayed packet")
	errSRTPShort  = errors.New("srtp: packet too short")
)

// KDF labels (RFC 3711 section 4.3.1).
const (
	labelEncryption = 0x00
	labelAuth       = 0x01
	labelSalt       = 0x02
)

// deriveKey is the AES-CM PRF of RFC 3711 section 4.3.3 with kdr = 0.
func deriveKey(master cryptoAttr, label byte, n int) ([]byte, error) {
	block, err := aes.NewCipher(master.Key[:master.Suite.KeyLen])
	if err != nil {
		return nil, err
	}
	var in, ks [16]byte
	copy(in[:], master.Key[master.Suite.KeyLen:])
	in[7] ^= label
	out := make([]byte, 0, n+16)
	for i := uint16(0); len(out) < n; i++ {
		binary.BigEndian.PutUint16(in[14:], i)
		block.Encrypt(ks[:], in[:])
		out = append(out, ks[:]...)
	}
	return out[:n], nil
}

// transform protects one RTP packet given its SSRC and 48-bit index.
type transform interface {
	overhead() int
	seal(dst, pkt []byte, hdrLen int, ssrc uint32, index uint64) []byte
	open(dst, pkt []byte, hdrLen int, ssrc uint32, index uint64) ([]byte, error)
}

func newTransform(c cryptoAttr) (transform, error) {
	if c.Suite.Profile == suites[2].Profile {
		return newGCM(c)
	}
	return newCM(c)
}

// cmTransform is AES_CM_128_HMAC_SHA1_80 and _32.
type cmTransform struct {
	block   cipher.Block
	mac     hash.Hash
	salt    [14]byte
	tagLen  int
	ctr, ks [16]byte
	roc     [4]byte
	sum     [sha1.Size]byte
}

func newCM(c cryptoAttr) (*cmTransform, error) {
	key, err := deriveKey(c, labelEncryption, c.Suite.KeyLen)
	if err != nil {
		return nil, err
	}
	auth, _ := deriveKey(c, labelAuth, 20)
	salt, _ := deriveKey(c, labelSalt, 14)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	t := &cmTransform{block: block, mac: hmac.New(sha1.New, auth), tagLen: 10}
	if c.Suite.Name == "AES_CM_128_HMAC_SHA1_32" {
		t.tagLen = 4
	}
	copy(t.salt[:], salt)
	return t, nil
}

func (t *cmTransform) overhead() int { return t.tagLen }

// xor applies the keystream for (ssrc, index) to src, writing dst.
func (t *cmTransform) xor(dst, src []byte, ssrc uint32, index uint64) {
	var iv [16]byte
	copy(iv[:], t.salt[:])
	binary.BigEndian.PutUint32(iv[4:], binary.BigEndian.Uint32(iv[4:])^ssrc)
	for i := 0; i < 6; i++ {
		iv[8+i] ^= byte(index >> (40 - 8*i))
	}
	for off, blk := 0, uint16(0); off < len(src); off, blk = off+16, blk+1 {
		t.ctr = iv
		binary.BigEndian.PutUint16(t.ctr[14:], blk)
		t.block.Encrypt(t.ks[:], t.ctr[:])
		subtle.XORBytes(dst[off:], src[off:], t.ks[:])
	}
}

// tag is the truncated HMAC-SHA1 of the authenticated portion and the ROC.
func (t *cmTransform) tag(authenticated []byte, roc uint32) []byte {
	t.mac.Reset()
	t.mac.Write(authenticated)
	binary.BigEndian.PutUint32(t.roc[:], roc)
	t.mac.Write(t.roc[:])
	return t.mac.Sum(t.sum[:0])[:t.tagLen]
}

func (t *cmTransform) seal(dst, pkt []byte, hdrLen int, ssrc uint32, index uint64) []byte {
	n := len(pkt)
	dst = dst[:n+t.tagLen]
	copy(dst, pkt[:hdrLen])
	t.xor(dst[hdrLen:n], pkt[hdrLen:], ssrc, index)
	copy(dst[n:], t.tag(dst[:n], uint32(index>>16)))
	return dst
}

func (t *cmTransform) open(dst, pkt []byte, hdrLen int, ssrc uint32, index uint64) ([]byte, error) {
	n := len(pkt) - t.tagLen
	if n < hdrLen {
		return nil, errSRTPShort
	}
	if subtle.ConstantTimeCompare(t.tag(pkt[:n], uint32(index>>16)), pkt[n:]) != 1 {
		return nil, errSRTPAuth
	}
	dst = dst[:n]
	copy(dst, pkt[:hdrLen])
	t.xor(dst[hdrLen:], pkt[hdrLen:n], ssrc, index)
	return dst, nil
}

// gcmTransform is AEAD_AES_128_GCM (RFC 7714).
type gcmTransform struct {
	aead  cipher.AEAD
	salt  [12]byte
	nonce [12]byte
}

func newGCM(c cryptoAttr) (*gcmTransform, error) {
	key, err := deriveKey(c, labelEncryption, c.Suite.KeyLen)
	if err != nil {
		return nil, err
	}
	salt, _ := deriveKey(c, labelSalt, 12)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("srtp gcm: %w", err)
	}
	t := &gcmTransform{aead: aead}
	copy(t.salt[:], salt)
	return t, nil
}

func (t *gcmTransform) overhead() int { return 16 }

// setNonce builds the IV of RFC 7714 section 8.1.
func (t *gcmTransform) setNonce(ssrc uint32, index uint64) {
	t.nonce = [12]byte{}
	binary.BigEndian.PutUint32(t.nonce[2:], ssrc)
	binary.BigEndian.PutUint32(t.nonce[6:], uint32(index>>16))
	binary.BigEndian.PutUint16(t.nonce[10:], uint16(index))
	subtle.XORBytes(t.nonce[:], t.nonce[:], t.salt[:])
}

func (t *gcmTransform) seal(dst, pkt []byte, hdrLen int, ssrc uint32, index uint64) []byte {
	t.setNonce(ssrc, index)
	dst = append(dst[:0], pkt[:hdrLen]...)
	return t.aead.Seal(dst, t.nonce[:], pkt[hdrLen:], pkt[:hdrLen])
}

func (t *gcmTransform) open(dst, pkt []byte, hdrLen int, ssrc uint32, index uint64) ([]byte, error) {
	if len(pkt) < hdrLen+16 {
		return nil, errSRTPShort
	}
	t.setNonce(ssrc, index)
	dst = append(dst[:0], pkt[:hdrLen]...)
	out, err := t.aead.Open(dst, t.nonce[:], pkt[hdrLen:], pkt[:hdrLen])
	if err != nil {
		return nil, errSRTPAuth
	}
	return out, nil
}

// sealer protects the RTP sent to one leg (one SSRC: ours).
type sealer struct {
	t       transform
	started bool
	roc     uint32
	last    uint16
}

// seal protects pkt (header of hdrLen bytes, then payload) into dst.
func (s *sealer) seal(dst, pkt []byte, hdrLen int, ssrc uint32, seq uint16) []byte {
	return s.t.seal(dst, pkt, hdrLen, ssrc, s.index(seq))
}

// index tracks the rollover counter of the sequence numbers we send.
func (s *sealer) index(seq uint16) uint64 {
	switch d := int16(seq - s.last); {
	case !s.started:
		s.started, s.last = true, seq
	case d > 0 && seq < s.last: // wrapped
		s.roc++
		s.last = seq
	case d > 0:
		s.last = seq
	case d < 0 && seq > s.last && s.roc > 0: // late, from before the wrap
		return uint64(s.roc-1)<<16 | uint64(seq)
	}
	return uint64(s.roc)<<16 | uint64(seq)
}

// opener unprotects the RTP from one leg, with a replay window per SSRC for
// at most maxSSRCs sources (the oldest is forgotten), so a peer cycling
// SSRCs cannot grow memory.
type opener struct {
	t       transform
	states  [maxSSRCs]rxState
	next    int     // slot the next new SSRC takes
	scratch rxState // state of an SSRC not yet authenticated
}

const maxSSRCs = 4

type rxState struct {
	ssrc    uint32
	used    bool
	highest uint64 // highest authenticated index
	window  uint64 // bit i: highest-i was received
}

func (o *opener) open(dst, pkt []byte, hdrLen int, ssrc uint32, seq uint16) ([]byte, error) {
	st := o.find(ssrc)
	if st == nil { // a new source: remembered only once a packet authenticates
		o.scratch = rxState{}
		st = &o.scratch
	}
	idx := st.estimate(seq)
	if st.replayed(idx) {
		return nil, errSRTPReplay
	}
	out, err := o.t.open(dst, pkt, hdrLen, ssrc, idx)
	if err != nil {
		return nil, err
	}
	if st == &o.scratch {
		o.states[o.next] = rxState{ssrc: ssrc, used: true, highest: idx, window: 1}
		o.next = (o.next + 1) % maxSSRCs
		return out, nil
	}
	st.accept(idx)
	return out, nil
}

func (o *opener) find(ssrc uint32) *rxState {
	for i := range o.states {
		if o.states[i].used && o.states[i].ssrc == ssrc {
			return &o.states[i]
		}
	}
	return nil
}

// estimate guesses the packet index (RFC 3711 appendix A).
func (s *rxState) estimate(seq uint16) uint64 {
	if !s.used {
		return uint64(seq)
	}
	roc, last := uint32(s.highest>>16), uint16(s.highest)
	switch {
	case last < 1<<15 && int(seq)-int(last) > 1<<15 && roc > 0:
		roc--
	case last >= 1<<15 && int(last)-1<<15 > int(seq):
		roc++
	}
	return uint64(roc)<<16 | uint64(seq)
}

func (s *rxState) replayed(idx uint64) bool {
	if !s.used || idx > s.highest {
		return false
	}
	d := s.highest - idx
	return d >= 64 || s.window&(1<<d) != 0
}

func (s *rxState) accept(idx uint64) {
	if idx > s.highest {
		d := idx - s.highest
		s.window = s.window << d // a shift of 64 or more clears it
		if d >= 64 {
			s.window = 0
		}
		s.window |= 1
		s.highest = idx
		return
	}
	s.window |= 1 << (s.highest - idx)
}
