package sip

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// tlsConfigs builds the server and client TLS configurations. With no
// certificate configured it makes a self-signed one: development only.
func tlsConfigs(c TLS) (server, client *tls.Config, selfSigned bool, err error) {
	cert, selfSigned, err := loadOrMakeCert(c)
	if err != nil {
		return nil, nil, false, err
	}
	minV := uint16(tls.VersionTLS12)
	if c.MinVersion == "1.3" {
		minV = tls.VersionTLS13
	}
	pool, err := caPool(c.CAFile)
	if err != nil {
		return nil, nil, false, err
	}
	var clientCAs *x509.CertPool // the configured CAs only, never the system's
	if c.CAFile != "" {
		clientCAs = pool
	}
	server = &tls.Config{
		MinVersion:   minV,
		CipherSuites: aeadSuites,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    clientCAs, // listenerTLS asks for client certificates where a trunk needs them
	}
	client = &tls.Config{
		MinVersion:         minV,
		CipherSuites:       aeadSuites,
		Certificates:       []tls.Certificate{cert},
		RootCAs:            pool,
		InsecureSkipVerify: !*c.VerifyServer,
	}
	return server, client, selfSigned, nil
}

// aeadSuites are the TLS 1.2 suites tonewall speaks: forward secrecy (ECDHE)
// and AEAD ciphers only, no CBC, RC4, 3DES, NULL or static RSA. TLS 1.3's
// suites are all AEAD and not configurable.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// listenerConfigs are a TLS listener's two handshakes: with a client
// certificate asked for and verified (peers of a trunk with mutual_tls),
// and without.
type listenerConfigs struct{ mutual, plain *tls.Config }

// listenerTLS is a TLS listener's configurations, derived from base (the
// server's). A client certificate is asked for only from a source that
// matches a trunk with mutual_tls, and one that does not verify against
// sip.tls.ca_file fails the handshake; a peer that presents none still
// completes it, and the trunk refuses its requests (peerVerified). Any
// other peer is asked for no certificate, and is sent no CA names: a
// carrier that presents a certificate of its own to a trunk without
// mutual TLS is not refused for it.
func listenerTLS(base *tls.Config) listenerConfigs {
	mutual, plain := base.Clone(), base.Clone()
	mutual.ClientAuth = tls.VerifyClientCertIfGiven
	plain.ClientAuth, plain.ClientCAs = tls.NoClientCert, nil
	return listenerConfigs{mutual: mutual, plain: plain}
}

// handshakeTLS is what a TLS listener hands each connection: the
// configuration its source's trunk needs, in the table in force at the
// handshake.
func (s *Server) handshakeTLS(l *listener) *tls.Config {
	return &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		src := addrPortOf(hello.Conn.RemoteAddr()).Addr()
		if t := matchTrunk(s.table().trunks, l, src); t != nil && t.cfg.MutualTLS {
			return s.handshake.mutual, nil
		}
		return s.handshake.plain, nil
	}}
}

func loadOrMakeCert(c TLS) (tls.Certificate, bool, error) {
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return tls.Certificate{}, false, fmt.Errorf("load TLS certificate: %w", err)
		}
		return cert, false, nil
	}
	cert, err := selfSignedCert()
	return cert, true, err
}

func caPool(file string) (*x509.CertPool, error) {
	if file == "" {
		return x509.SystemCertPool()
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read TLS CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("TLS CA file holds no PEM certificate")
	}
	return pool, nil
}

// selfSignedCert makes an ECDSA P-256 certificate for localhost, valid a year.
func selfSignedCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "tonewall self-signed"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
