package vault

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/tonewall/tonewall/internal/sbctest"
)

// testPKI is a throwaway CA with a server certificate for 127.0.0.1 and a
// client certificate, written as PEM files.
type testPKI struct {
	caFile, certFile, keyFile string // CA; client cert and key
	pool                      *x509.CertPool
	server                    tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	ca := sbctest.NewCA(t, "tonewall test CA", sbctest.ECDSA)
	certFile, keyFile := sbctest.WriteKeyPair(t, dir, "client", ca.Issue(t, "tonewall test", x509.ExtKeyUsageClientAuth))
	return testPKI{
		caFile:   ca.WriteCert(t, dir, "ca"),
		certFile: certFile,
		keyFile:  keyFile,
		pool:     ca.Pool(),
		server:   ca.Issue(t, "tonewall test", x509.ExtKeyUsageServerAuth),
	}
}
