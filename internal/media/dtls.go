package media

import (
	"context"
	"crypto"
	_ "crypto/sha1" // the hashes of fingerprintHashes
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/dtls/v2/pkg/crypto/selfsign"
	"go.uber.org/zap"
)

// DTLS-SRTP (RFC 5763/5764): a leg whose policy says KeyExchange "dtls"
// negotiates UDP/TLS/RTP/SAVP with a=fingerprint and a=setup, runs a DTLS
// handshake on its RTP port and takes its SRTP keys from it. Until the
// handshake is done, that leg's media is dropped, never sent in clear.

// handshakeTimeout bounds a DTLS handshake; pion/dtls reports some failures
// (a certificate not matching a=fingerprint) only when it expires.
const handshakeTimeout = 10 * time.Second

var errFingerprint = errors.New("media: dtls peer certificate does not match a=fingerprint")

// identity is the certificate tonewall presents on DTLS legs.
type identity struct {
	cert        tls.Certificate
	fingerprint string // "sha-256 AB:CD:…"
}

func newIdentity() (*identity, error) {
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return nil, fmt.Errorf("media: dtls certificate: %w", err)
	}
	return &identity{cert: cert, fingerprint: fingerprint(cert.Certificate[0])}, nil
}

func fingerprint(der []byte) string {
	s, _ := fingerprintWith("sha-256", der)
	return s
}

// fingerprintHashes are the a=fingerprint algorithms tonewall verifies
// (RFC 8122 hash function textual names).
var fingerprintHashes = map[string]crypto.Hash{
	"sha-1":   crypto.SHA1,
	"sha-256": crypto.SHA256,
	"sha-384": crypto.SHA384,
	"sha-512": crypto.SHA512,
}

// fingerprintWith hashes a certificate with an a=fingerprint algorithm.
func fingerprintWith(alg string, der []byte) (string, bool) {
	hash, ok := fingerprintHashes[strings.ToLower(alg)]
	if !ok {
		return "", false
	}
	d := hash.New()
	d.Write(der)
	h := strings.ToUpper(hex.EncodeToString(d.Sum(nil)))
	var b strings.Builder
	b.WriteString(strings.ToLower(alg) + " ")
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String(), true
}

// sameFingerprint compares "alg value" strings, ignoring case.
func sameFingerprint(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// matchesFingerprint checks a certificate against the remote's
// a=fingerprint, with whichever hash it names (sha-1 … sha-512).
func matchesFingerprint(der []byte, remote string) bool {
	alg, _, _ := strings.Cut(strings.TrimSpace(remote), " ")
	fp, ok := fingerprintWith(alg, der)
	return ok && sameFingerprint(fp, remote)
}

// dtlsParams is what negotiation decided for a DTLS leg.
type dtlsParams struct {
	remote string // the leg's a=fingerprint
	client bool   // tonewall is the DTLS client (a=setup:active on our side)
}

// ourSetup is the a=setup to answer a remote setup with; we prefer active.
func ourSetup(remote string) (setup string, client bool) {
	if remote == "active" {
		return "passive", false
	}
	return "active", true
}

// isDTLSRecord tells DTLS from RTP/RTCP on a shared port (RFC 7983).
func isDTLSRecord(b []byte) bool { return len(b) > 0 && b[0] >= 20 && b[0] <= 63 }

// dtlsLink is one leg's DTLS association; the pump feeds it the leg's DTLS
// records, and it writes through the leg's RTP socket.
type dtlsLink struct {
	leg    Side
	params dtlsParams
	in     chan []byte
	closed chan struct{}
	once   sync.Once
	write  func([]byte) (int, error)
	ended  atomic.Bool        // close was called: replaced or session closed
	ready  atomic.Bool        // handshake done: ctx no longer ends reads
	ctx    context.Context    // ends the handshake: timeout, link or session closed
	cancel context.CancelFunc // called by close

	mu   sync.Mutex
	conn *dtls.Conn // guarded by mu; set once the handshake is done
}

func (d *dtlsLink) deliver(b []byte) {
	select {
	case d.in <- append([]byte(nil), b...):
	default: // handshake not keeping up: DTLS retransmits
	}
}

func (d *dtlsLink) close() {
	d.ended.Store(true)
	d.once.Do(func() { close(d.closed) })
	if d.cancel != nil {
		d.cancel()
	}
	d.mu.Lock()
	c := d.conn
	d.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// packetConn adapts the link to the net.Conn that pion/dtls reads and writes.
type packetConn struct{ d *dtlsLink }

// Read also fails when the handshake's context ends, since pion/dtls waits
// for its reader before it reports a failed handshake.
func (c packetConn) Read(b []byte) (int, error) {
	done := c.d.ctx.Done()
	for {
		select {
		case p := <-c.d.in:
			return copy(b, p), nil
		case <-c.d.closed:
			return 0, net.ErrClosed
		case <-done:
			if c.d.ready.Load() {
				done = nil
				continue
			}
			return 0, c.d.ctx.Err()
		}
	}
}

func (c packetConn) Write(b []byte) (int, error) {
	select {
	case <-c.d.closed:
		return 0, net.ErrClosed
	default:
		return c.d.write(b)
	}
}

func (c packetConn) Close() error                     { c.d.once.Do(func() { close(c.d.closed) }); return nil }
func (c packetConn) LocalAddr() net.Addr              { return &net.UDPAddr{} }
func (c packetConn) RemoteAddr() net.Addr             { return &net.UDPAddr{} }
func (c packetConn) SetDeadline(time.Time) error      { return nil }
func (c packetConn) SetReadDeadline(time.Time) error  { return nil }
func (c packetConn) SetWriteDeadline(time.Time) error { return nil }

// startDTLS replaces leg l's association; called with s.mu held.
func (s *Session) startDTLS(l Side, p dtlsParams) {
	if old := s.links[l].Load(); old != nil {
		old.close()
	}
	d := &dtlsLink{leg: l, params: p, in: make(chan []byte, 16), closed: make(chan struct{})}
	d.ctx, d.cancel = context.WithTimeout(context.Background(), s.m.handshakeTimeout)
	d.write = func(b []byte) (int, error) { return s.writeDTLS(l, b) }
	s.links[l].Store(d)
	s.spawn(func() { s.handshake(d) })
}

// writeDTLS sends a record to where leg l's media goes.
func (s *Session) writeDTLS(l Side, b []byte) (int, error) {
	rt := s.routes[l.Other()].Load()
	if rt == nil {
		return 0, errors.New("media: dtls peer address unknown")
	}
	conn, to := s.destination(rt, false)
	if !to.IsValid() {
		return 0, errors.New("media: dtls peer address unknown")
	}
	return conn.WriteToUDPAddrPort(b, to)
}

// handshake runs on a session goroutine. A failed handshake (timeout, wrong
// fingerprint, no common profile) ends the session with ErrDTLS: that leg
// could never carry media.
func (s *Session) handshake(d *dtlsLink) {
	defer d.cancel()
	conn, err := s.dial(d.ctx, d)
	if err == nil {
		d.ready.Store(true)
	}
	if err != nil {
		if !d.ended.Load() { // else replaced or session closed: not a failure
			s.log.Warn("dtls handshake failed", legField(d.leg), zap.Error(err))
			s.endBy(fmt.Errorf("%w: %s leg: %v", ErrDTLS, d.leg, err))
		}
		return
	}
	d.mu.Lock()
	d.conn = conn
	d.mu.Unlock()
	if err := s.installDTLSKeys(d, conn); err != nil {
		s.log.Warn("dtls-srtp keys", legField(d.leg), zap.Error(err))
	}
}

func (s *Session) dial(ctx context.Context, d *dtlsLink) (*dtls.Conn, error) {
	cfg := &dtls.Config{
		Certificates:           []tls.Certificate{s.m.id.cert},
		SRTPProtectionProfiles: dtlsProfiles(s.legs[d.leg].policy.Suites),
		ExtendedMasterSecret:   dtls.RequireExtendedMasterSecret,
		ClientAuth:             dtls.RequireAnyClientCert,
		InsecureSkipVerify:     true, // self-signed both ways: a=fingerprint is the check
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !matchesFingerprint(raw[0], d.params.remote) {
				d.cancel() // fail now, not at the timeout
				return errFingerprint
			}
			return nil
		},
	}
	if d.params.client {
		return dtls.ClientWithContext(ctx, packetConn{d}, cfg)
	}
	return dtls.ServerWithContext(ctx, packetConn{d}, cfg)
}

func dtlsProfiles(names []string) []dtls.SRTPProtectionProfile {
	var out []dtls.SRTPProtectionProfile
	for _, n := range names {
		if p, ok := dtlsProfileOf[n]; ok {
			out = append(out, p)
		}
	}
	return out
}

var dtlsProfileOf = map[string]dtls.SRTPProtectionProfile{
	"AES_CM_128_HMAC_SHA1_80": dtls.SRTP_AES128_CM_HMAC_SHA1_80,
	"AES_CM_128_HMAC_SHA1_32": dtls.SRTP_AES128_CM_HMAC_SHA1_32,
	"AEAD_AES_128_GCM":        dtls.SRTP_AEAD_AES_128_GCM,
}

// dtlsKeys exports the SRTP master keys (RFC 5764 section 4.2).
func dtlsKeys(conn *dtls.Conn, client bool) (rx, tx cryptoAttr, err error) {
	prof, ok := conn.SelectedSRTPProtectionProfile()
	var st suite
	for name, p := range dtlsProfileOf {
		if ok && p == prof {
			st, _ = suiteByName(name)
		}
	}
	if st.Name == "" {
		return rx, tx, errors.New("media: no common dtls-srtp profile")
	}
	state := conn.ConnectionState()
	k, n := st.KeyLen, st.SaltLen
	m, err := state.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", nil, 2*(k+n))
	if err != nil {
		return rx, tx, err
	}
	clientKey := append(append(secret{}, m[:k]...), m[2*k:2*k+n]...)
	serverKey := append(append(secret{}, m[k:2*k]...), m[2*k+n:]...)
	if client {
		return cryptoAttr{Suite: st, Key: serverKey}, cryptoAttr{Suite: st, Key: clientKey}, nil
	}
	return cryptoAttr{Suite: st, Key: clientKey}, cryptoAttr{Suite: st, Key: serverKey}, nil
}

// installDTLSKeys gives leg d.leg its SRTP contexts and swaps the routes.
func (s *Session) installDTLSKeys(d *dtlsLink, conn *dtls.Conn) error {
	rxKey, txKey, err := dtlsKeys(conn, d.params.client)
	if err != nil {
		return err
	}
	rx, err := newCryptoSet(rxKey, true)
	if err != nil {
		return err
	}
	tx, err := newCryptoSet(txKey, false)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.links[d.leg].Load() != d {
		return nil // replaced or closed meanwhile
	}
	s.legs[d.leg].neg.rx, s.legs[d.leg].neg.tx = rx, tx
	s.swapRoutes()
	s.log.Info("dtls-srtp ready", legField(d.leg), zap.String("suite", rxKey.Suite.Name))
	return nil
}
