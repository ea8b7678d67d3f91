package sbctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// KeyKind is the kind of key a certificate is made with.
type KeyKind int

const (
	ECDSA KeyKind = iota // P-256
	RSA                  // 2048 bits, for the ECDHE-RSA suites
)

// CA is a throwaway certificate authority, valid for an hour either side
// of now.
type CA struct {
	Cert tls.Certificate // Cert.Leaf is the parsed CA certificate
	kind KeyKind
}

// NewCA makes a CA named name with keys of kind, its own and those of the
// certificates it issues.
func NewCA(t TB, name string, kind KeyKind) *CA {
	t.Helper()
	tmpl := template(name)
	tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	c, err := create(tmpl, nil, kind)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: c, kind: kind}
}

// Issue signs a certificate named name: for a server (usage ServerAuth,
// with 127.0.0.1 as its address) or for a client (ClientAuth).
func (ca *CA) Issue(t TB, name string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	tmpl := template(name)
	tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{usage}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	c, err := create(tmpl, &ca.Cert, ca.kind)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Pool is a certificate pool holding this CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert.Leaf)
	return p
}

// WriteCert writes the CA certificate as dir/name.pem and returns the path.
func (ca *CA) WriteCert(t TB, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name+".pem")
	writePEM(t, path, "CERTIFICATE", ca.Cert.Certificate[0])
	return path
}

// WriteKeyPair writes c as dir/name.pem and its key as dir/name.key
// (PKCS #8) and returns both paths.
func WriteKeyPair(t TB, dir, name string, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", c.Certificate[0])
	writePEM(t, keyFile, "PRIVATE KEY", key)
	return certFile, keyFile
}

// SelfSigned makes a self-signed ECDSA server certificate for 127.0.0.1.
func SelfSigned() (tls.Certificate, error) {
	tmpl := template("tonewall test")
	tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.IPv4(127, 0, 0, 1)}
	return create(tmpl, nil, ECDSA)
}

// ServerCert is one self-signed certificate for 127.0.0.1, made once per
// process, for test listeners whose peers do not verify it.
var ServerCert = sync.OnceValues(SelfSigned)

func template(name string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	return &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
}

// create signs tmpl with a new key of kind: by parent, or by itself when
// parent is nil.
func create(tmpl *x509.Certificate, parent *tls.Certificate, kind KeyKind) (tls.Certificate, error) {
	key, err := newKey(kind)
	if err != nil {
		return tls.Certificate{}, err
	}
	signer, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signer, signerKey = parent.Leaf, parent.PrivateKey.(crypto.Signer)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signerKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

func newKey(kind KeyKind) (crypto.Signer, error) {
	if kind == RSA {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func writePEM(t TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
