package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/tonewall/tonewall/internal/sbctest"
	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// testCA makes a CA and a client certificate it signed; it returns the CA's
// PEM file path and the client certificate.
func testCA(t *testing.T) (string, tls.Certificate) {
	t.Helper()
	ca := sbctest.NewCA(t, "e2e CA", sbctest.ECDSA)
	return ca.WriteCert(t, t.TempDir(), "ca"), ca.Issue(t, "carrier-sbc", x509.ExtKeyUsageClientAuth)
}

// TestMutualTLS: a trunk with mutual_tls takes calls only from peers whose
// client certificate verifies against ca_file.
func TestMutualTLS(t *testing.T) {
	caFile, clientCert := testCA(t)
	cc := sipua.New(t, "tls")
	s := startSBC(t, sbc.Options{Transport: "tls", ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}},
		SIP: sbc.SIP{TLS: &sbc.TLS{CAFile: caFile}}, Carrier: sbc.Trunk{MutualTLS: true}})

	anonymous := sipua.New(t, "tls")
	_, err := anonymous.Call(ctx10(t), s.Addr("carrier"), anonymous.SDP())
	wantRefused(t, err, 403, "no client certificate")
	if err := callWithCert(t, s, cc, clientCert); err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
}

// callWithCert places a call through s from a carrier that presents cert
// and, once the contact center answered, hangs up.
func callWithCert(t *testing.T, s *sbc.SBC, cc *sipua.Agent, cert tls.Certificate) error {
	t.Helper()
	carrier := sipua.NewWith(t, sipua.Options{Transport: "tls", ClientTLS: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}}})
	sess, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
	if err != nil {
		return err
	}
	defer sess.Close()
	cc.NextCall(t)
	must(t, sess.Bye(ctx10(t)))
	s.WaitCalls(t, 0)
	return nil
}

// TestSipsTarget: a contact center addressed with a sips: URI is reached
// over TLS.
func TestSipsTarget(t *testing.T) {
	p := newPeers(t, "tls", sbc.Options{ContactCenter: sbc.Trunk{SIPS: true}})
	cc, s := p.cc, p.s
	sess, _ := p.call(t, ctx10(t))
	if got := cc.Received("INVITE")[0].Recipient.Scheme; got != "sips" {
		t.Fatalf("contact center got a %s: request URI, want sips:", got)
	}
	must(t, sess.Bye(ctx10(t)))
	s.WaitCalls(t, 0)
}

// TestClientCertWithoutMutualTLS: a carrier SBC that presents a certificate
// tonewall cannot verify is still served on a trunk without mutual_tls.
func TestClientCertWithoutMutualTLS(t *testing.T) {
	_, clientCert := testCA(t) // signed by a CA tonewall does not know
	cc := sipua.New(t, "tls")
	s := startSBC(t, sbc.Options{Transport: "tls", ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}})
	if err := callWithCert(t, s, cc, clientCert); err != nil {
		t.Fatalf("call with an unverifiable client certificate: %v", err)
	}
}
