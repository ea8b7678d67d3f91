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

	"github.com/tonewall/tonewall/internal/config"
)

// tlsConfigs builds the server and client TLS configurations. With no
// certificate configured it makes a self-signed one: development only.
func tlsConfigs(c config.TLS) (server, client *tls.Config, selfSigned bool, err error) {
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
	server = &tls.Config{
		MinVersion:   minV,
		Certificates: []tls.Certificate{cert},
		// Ask for a client certificate but verify it only for trunks with
		// mutual_tls (peerVerified): a carrier SBC that presents its own
		// certificate to a trunk without mutual TLS must not be refused.
		ClientAuth: tls.RequestClientCert,
		ClientCAs:  pool,
	}
	client = &tls.Config{
		MinVersion:         minV,
		Certificates:       []tls.Certificate{cert},
		RootCAs:            pool,
		InsecureSkipVerify: !*c.VerifyServer,
	}
	return server, client, selfSigned, nil
}

func loadOrMakeCert(c config.TLS) (tls.Certificate, bool, error) {
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
