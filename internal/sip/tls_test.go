package sip

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// handshake runs a TLS handshake over loopback TCP and returns both ends'
// state and error.
func handshake(t *testing.T, server, client *tls.Config) (cs, ss tls.ConnectionState, cerr, serr error) {
	t.Helper()
	return handshakeFrom(t, "", server, client)
}

// handshakeFrom is handshake with the client's socket bound to the address
// from ("": any).
func handshakeFrom(t *testing.T, from string, server, client *tls.Config) (cs, ss tls.ConnectionState, cerr, serr error) {
	t.Helper()
	ln := listenTCP(t)
	type result struct {
		state tls.ConnectionState
		err   error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		s := tls.Server(c, server)
		_ = s.SetDeadline(time.Now().Add(2 * time.Second))
		err = s.Handshake()
		done <- result{s.ConnectionState(), err}
	}()
	d := net.Dialer{}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	raw, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := tls.Client(raw, client)
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	cerr = c.Handshake()
	cs = c.ConnectionState()
	_ = raw.Close() // a server still waiting for a client certificate gives up
	r := <-done
	return cs, r.state, cerr, r.err
}

func serverTLS(t *testing.T, c TLS) *tls.Config {
	t.Helper()
	c.VerifyServer = ptr(true)
	server, _, selfSigned, err := tlsConfigs(c)
	if err != nil {
		t.Fatal(err)
	}
	if !selfSigned || len(server.Certificates) != 1 {
		t.Fatalf("no self-signed certificate made (%v)", server.Certificates)
	}
	return server
}

// clientTLS is a client that checks nothing of the server, speaking only
// versions min to max and the given TLS 1.2 suites.
func clientTLS(min, max uint16, suites ...uint16) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: min, MaxVersion: max, CipherSuites: suites}
}

func TestTLSServerSuitesAndVersions(t *testing.T) {
	leakCheck(t)
	server := serverTLS(t, TLS{})
	// The control accepts all the clients below: what refuses them is
	// tonewall's configuration, not Go's defaults or the test's clients.
	control := server.Clone()
	control.CipherSuites, control.MinVersion = nil, tls.VersionTLS10
	const v12, v13 = tls.VersionTLS12, tls.VersionTLS13
	tests := []struct {
		name    string
		client  *tls.Config
		ok      bool
		control bool // whether the control server must accept it
	}{
		{"1.2 ECDHE-ECDSA AES-CBC-SHA", clientTLS(v12, v12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA), false, true},
		{"1.2 ECDHE-ECDSA AES-256-CBC-SHA", clientTLS(v12, v12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA), false, true},
		{"1.2 ECDHE-RSA AES-CBC-SHA", clientTLS(v12, v12, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA), false, false}, // and an ECDSA key
		{"1.2 ECDHE-ECDSA AES-128-GCM", clientTLS(v12, v12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), true, true},
		{"1.2 ECDHE-ECDSA AES-256-GCM", clientTLS(v12, v12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384), true, true},
		{"1.2 ECDHE-ECDSA ChaCha20", clientTLS(v12, v12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256), true, true},
		{"1.2 CBC offered first, GCM taken", clientTLS(v12, v12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), true, true},
		// 1.1 is refused twice over: by min_version, and by having no AEAD suite.
		{"1.1", clientTLS(tls.VersionTLS10, tls.VersionTLS11), false, true},
		{"1.3", clientTLS(v13, v13), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, _, err, _ := handshake(t, server, tt.client)
			if (err == nil) != tt.ok {
				t.Fatalf("handshake error %v, want success %v", err, tt.ok)
			}
			if tt.ok && cs.Version == v12 && !aead(cs.CipherSuite) {
				t.Errorf("negotiated %s", tls.CipherSuiteName(cs.CipherSuite))
			}
			if _, _, err, _ := handshake(t, control, tt.client); (err == nil) != tt.control {
				t.Errorf("control server: handshake error %v, want success %v", err, tt.control)
			}
		})
	}
}

func aead(suite uint16) bool {
	for _, s := range aeadSuites {
		if s == suite {
			return true
		}
	}
	return false
}

func TestTLSMinVersion13(t *testing.T) {
	leakCheck(t)
	server := serverTLS(t, TLS{MinVersion: "1.3"})
	if _, _, err, _ := handshake(t, server, clientTLS(tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)); err == nil {
		t.Error("a TLS 1.2 client connected to a server with min_version 1.3")
	}
	if cs, _, err, _ := handshake(t, server, clientTLS(tls.VersionTLS12, tls.VersionTLS13)); err != nil || cs.Version != tls.VersionTLS13 {
		t.Errorf("TLS 1.3 client: %v, version %x", err, cs.Version)
	}
}

// caFile writes a fresh self-signed certificate as a PEM CA file.
func caFile(t *testing.T) (string, tls.Certificate) {
	t.Helper()
	cert, err := selfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, cert
}

// mutualServer has two TLS listeners: "mtls" with a trunk that has
// mutual_tls (peers at 127.0.0.1) and one that has not (127.0.0.2),
// "plain" with none (all of 127/8).
func mutualServer(t *testing.T, ca string) (s *Server, mtls, plain *listener) {
	mtls, plain = &listener{cfg: Listener{Name: "mtls"}}, &listener{cfg: Listener{Name: "plain"}}
	s = &Server{serverTLS: serverTLS(t, TLS{CAFile: ca})}
	s.handshake = listenerTLS(s.serverTLS)
	src := func(p string) []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix(p)} }
	s.tbl.Store(&trunkTable{trunks: []*trunk{
		{cfg: Trunk{Name: "a"}, listener: mtls, sources: src("127.0.0.2/32")},
		{cfg: Trunk{Name: "b", MutualTLS: true}, listener: mtls, sources: src("127.0.0.1/32")},
		{cfg: Trunk{Name: "c"}, listener: plain, sources: src("127.0.0.0/8")},
	}})
	return s, mtls, plain
}

func TestListenerTLS(t *testing.T) {
	ca, caCert := caFile(t)
	s, _, _ := mutualServer(t, ca)
	want := x509.NewCertPool()
	leaf, err := x509.ParseCertificate(caCert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	want.AddCert(leaf)

	cs := listenerTLS(s.serverTLS)
	if p := cs.plain; p.ClientAuth != tls.NoClientCert || p.ClientCAs != nil {
		t.Errorf("without mutual_tls: ClientAuth %v, ClientCAs set %v", p.ClientAuth, p.ClientCAs != nil)
	}
	if m := cs.mutual; m.ClientAuth != tls.VerifyClientCertIfGiven || m.ClientCAs == nil || !m.ClientCAs.Equal(want) {
		t.Errorf("with mutual_tls: ClientAuth %v, ClientCAs the CA file's %v", m.ClientAuth, m.ClientCAs != nil && m.ClientCAs.Equal(want))
	}
	if s.serverTLS.ClientCAs == nil || s.serverTLS.ClientAuth != tls.NoClientCert {
		t.Error("listenerTLS changed the shared server configuration")
	}
	if noCA := serverTLS(t, TLS{}); noCA.ClientCAs != nil {
		t.Error("with no ca_file, client certificates are checked against the system roots")
	}
}

// TestListenerTLSClientCertificates: on a listener with mutual_tls, a
// client with no certificate still connects (the trunk refuses it later), one
// with a certificate from the CA is verified, and any other is refused.
func TestListenerTLSClientCertificates(t *testing.T) {
	leakCheck(t)
	ca, caCert := caFile(t)
	s, mtls, plain := mutualServer(t, ca)
	stranger, err := selfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	withCert := func(c tls.Certificate) *tls.Config {
		cfg := clientTLS(tls.VersionTLS12, tls.VersionTLS13)
		cfg.Certificates = []tls.Certificate{c}
		return cfg
	}
	tests := []struct {
		name     string
		l        *listener
		from     string
		client   *tls.Config
		ok       bool
		verified bool
	}{
		{"no certificate", mtls, "127.0.0.1", clientTLS(tls.VersionTLS12, tls.VersionTLS13), true, false},
		{"certificate from the CA", mtls, "127.0.0.1", withCert(caCert), true, true},
		{"certificate from another CA", mtls, "127.0.0.1", withCert(stranger), false, false},
		{"a trunk without mutual_tls beside one with it asks for none", mtls, "127.0.0.2", withCert(stranger), true, false},
		{"a source of no trunk is asked for none", mtls, "127.0.0.3", withCert(stranger), true, false},
		{"listener without mutual_tls asks for none", plain, "127.0.0.1", withCert(stranger), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ss, cerr, serr := handshakeFrom(t, tt.from, s.handshakeTLS(tt.l), tt.client)
			if (serr == nil) != tt.ok || tt.ok && cerr != nil {
				t.Fatalf("server error %v, client error %v; want success %v", serr, cerr, tt.ok)
			}
			if verified := len(ss.VerifiedChains) > 0; tt.ok && verified != tt.verified {
				t.Errorf("client certificate verified %v, want %v", verified, tt.verified)
			}
			if asked := len(ss.PeerCertificates) > 0; tt.ok && !tt.verified && asked {
				t.Errorf("a certificate was asked for and taken from %s", tt.from)
			}
		})
	}
}

// TestHandshakeTLSFollowsTheTable: a TLS listener takes its configuration
// from the table in force at each handshake: once a reload has taken
// mutual_tls off its trunks, a client certificate from another CA no
// longer fails the handshake, and none is asked for.
func TestHandshakeTLSFollowsTheTable(t *testing.T) {
	leakCheck(t)
	ca, _ := caFile(t)
	s, mtls, _ := mutualServer(t, ca)
	stranger, err := selfSignedCert()
	if err != nil {
		t.Fatal(err)
	}
	client := clientTLS(tls.VersionTLS12, tls.VersionTLS13)
	client.Certificates = []tls.Certificate{stranger}
	if _, _, _, serr := handshake(t, s.handshakeTLS(mtls), client); serr == nil {
		t.Fatal("a certificate from another CA passed a listener with mutual_tls")
	}
	s.tbl.Store(&trunkTable{trunks: []*trunk{{cfg: Trunk{Name: "b"}, listener: mtls, sources: s.table().trunks[1].sources}}})
	if _, ss, cerr, serr := handshake(t, s.handshakeTLS(mtls), client); serr != nil || cerr != nil || len(ss.PeerCertificates) != 0 {
		t.Fatalf("after the reload: server %v, client %v, certificates asked %d", serr, cerr, len(ss.PeerCertificates))
	}
}
