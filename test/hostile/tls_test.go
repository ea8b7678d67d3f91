package hostile

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/sbctest"
)

const tlsYAML = `
sip:
  listeners:
    - {name: carrier_tls, transport: tls, address: "${tcp:tls}"}
    - {name: cc, transport: udp, address: "${udp:cc}"}
%s
trunks:
  - {name: carrier_tls, role: carrier, listener: carrier_tls, sources: [127.0.0.0/8], mutual_tls: %t}
  - {name: cc, role: contact_center, listener: cc, sources: [127.0.0.0/8], targets: ["sip:127.0.0.1:9"]}
routes: [{from: carrier_tls, to: cc}]
`

// TestTLSRefusesWeakAndAsksNoCertificate: on a listener without mutual TLS
// (tonewall's self-signed ECDSA certificate) TLS 1.0/1.1, CBC, RC4 and NULL
// suites are refused, ECDHE-ECDSA-AES128-GCM accepted, and no client
// certificate is asked for.
func TestTLSRefusesWeakAndAsksNoCertificate(t *testing.T) {
	tw := start(t, fmt.Sprintf(tlsYAML, "", false), 0)
	to := tw.addr("tcp:tls")
	t.Run("openssl", func(t *testing.T) {
		for _, c := range []struct{ name, args string }{
			{"TLS 1.0", "-tls1 -cipher DEFAULT:@SECLEVEL=0"},
			{"TLS 1.1", "-tls1_1 -cipher DEFAULT:@SECLEVEL=0"},
			{"CBC", "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA:AES128-SHA:@SECLEVEL=0"},
			{"RC4", "-tls1_2 -cipher RC4:@SECLEVEL=0"},
			{"NULL", "-tls1_2 -cipher NULL:eNULL:@SECLEVEL=0"},
		} {
			if out, ok := sclient(t, to, c.args); ok {
				t.Errorf("%s accepted:\n%s", c.name, out)
			}
		}
		out, ok := sclient(t, to, "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256")
		if !ok {
			t.Fatalf("ECDHE-ECDSA-AES128-GCM-SHA256 refused:\n%s", out)
		}
		if !strings.Contains(out, "No client certificate CA names sent") || strings.Contains(out, "Acceptable client certificate CA names") {
			t.Errorf("a listener without mutual TLS asked for a client certificate:\n%s", out)
		}
	})
	t.Run("crypto/tls", func(t *testing.T) {
		for _, c := range []struct {
			name   string
			cfg    *tls.Config
			accept bool
		}{
			{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
			{"CBC", tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA), false},
			{"RC4", tls12(tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_RC4_128_SHA), false},
			{"GCM", tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), true},
			{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
		} {
			asked := false
			c.cfg.InsecureSkipVerify = true
			c.cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				asked = true
				return &tls.Certificate{}, nil
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", to, c.cfg)
			if err == nil {
				conn.Close()
			}
			if (err == nil) != c.accept {
				t.Errorf("%s: handshake error %v, want accepted=%t", c.name, err, c.accept)
			}
			if asked {
				t.Errorf("%s: a listener without mutual TLS sent a CertificateRequest", c.name)
			}
		}
	})
	tw.alive(t)
}

// TestMutualTLSRefusesForeignCertificate: on a listener with a mutual-TLS
// trunk, a client certificate from a CA other than sip.tls.ca_file fails
// the handshake; one from that CA is accepted (ECDHE-RSA-AES128-GCM).
func TestMutualTLSRefusesForeignCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, other := sbctest.NewCA(t, "hostile ca", sbctest.RSA), sbctest.NewCA(t, "hostile other", sbctest.RSA)
	ca.WriteCert(t, dir, "ca")
	sbctest.WriteKeyPair(t, dir, "server", ca.Issue(t, "server", x509.ExtKeyUsageServerAuth))
	sbctest.WriteKeyPair(t, dir, "good", ca.Issue(t, "good", x509.ExtKeyUsageClientAuth))
	sbctest.WriteKeyPair(t, dir, "foreign", other.Issue(t, "foreign", x509.ExtKeyUsageClientAuth))
	tlsSection := fmt.Sprintf("  tls: {cert_file: %q, key_file: %q, ca_file: %q}",
		filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.pem"))
	tw := start(t, fmt.Sprintf(tlsYAML, tlsSection, true), 0)
	to := tw.addr("tcp:tls")
	cert := func(name string) string {
		return fmt.Sprintf("-cert %s -key %s", filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key"))
	}
	t.Run("openssl", func(t *testing.T) {
		out, ok := sclient(t, to, "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 "+cert("good"))
		if !ok || !strings.Contains(out, "Acceptable client certificate CA names") {
			t.Fatalf("a certificate of the configured CA, ECDHE-RSA-AES128-GCM-SHA256:\n%s", out)
		}
		if out, ok := sclient(t, to, "-tls1_2 "+cert("foreign")); ok {
			t.Errorf("a certificate from another CA accepted:\n%s", out)
		}
	})
	t.Run("crypto/tls", func(t *testing.T) {
		foreign, err := tls.LoadX509KeyPair(filepath.Join(dir, "foreign.pem"), filepath.Join(dir, "foreign.key"))
		must(t, err)
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v,
				// Sent even though its CA is not among those the server names.
				GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &foreign, nil }}
			// TLS 1.3 clients finish before the server judges their
			// certificate: the refusal shows as no answer to OPTIONS.
			if got := tlsOptions(t, to, cfg); got != "" {
				t.Errorf("TLS %x with a foreign certificate: answered %q", v, got)
			}
		}
	})
	if n := tw.metric(t, `tonewall_tls_handshake_failures_total{listener="carrier_tls"}`); n < 3 {
		t.Errorf("tonewall_tls_handshake_failures_total = %.0f after 3 foreign certificates", n)
	}
	tw.alive(t)
}

func tls12(suites ...uint16) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: suites}
}

// sclient runs openssl s_client against to and reports whether a session
// was established; it skips the test when openssl is absent.
func sclient(t *testing.T, to, args string) (string, bool) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed: the s_client checks need it (apt-get install openssl)")
	}
	cmd := exec.Command("openssl", append([]string{"s_client", "-connect", to, "-servername", "localhost"}, strings.Fields(args)...)...)
	cmd.Stdin = strings.NewReader("")
	cmd.WaitDelay = 5 * time.Second
	out, _ := cmd.CombinedOutput()
	s := string(out)
	if strings.Contains(s, "no cipher match") || strings.Contains(s, "no protocols available") {
		t.Logf("openssl cannot offer %q here, not a check: %s", args, firstLine(s))
		return s, false
	}
	// A TLS 1.2 server's alert after the client's Finished still leaves
	// "Cipher is" in the summary: an error line means refused.
	return s, strings.Contains(s, "Cipher is ") && !strings.Contains(s, "Cipher is (NONE)") && !strings.Contains(s, ":error:")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
