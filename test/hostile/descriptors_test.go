package hostile

import (
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"
)

// fdYAML: connection caps far above the descriptor limit, so the limit is
// what bites; loopback sources are a trunk's, so connections are kept.
var fdYAML = topology{transports: []string{"tcp", "tls"}, sources: "127.0.0.0/8", target: "127.0.0.1:9",
	sip: "  limits: {max_connections: 100000, max_connections_per_source: 100000, idle_timeout: 60s}\n"}.yaml()

// TestDescriptorExhaustion: idle connections fill tonewall's descriptor
// limit. It cannot accept (EMFILE), counts it, reports itself not ready and
// stays up, UDP still served; when the connections go, both stream
// listeners accept again, OPTIONS over TCP and TLS is answered and
// /readyz is 200 again.
func TestDescriptorExhaustion(t *testing.T) {
	nofile := size(128, 1024)
	tw := start(t, fdYAML, nofile)
	if code, _ := tw.get(t, "/readyz"); code != 200 { // also opens the API connection kept for later
		t.Fatalf("/readyz before: %d", code)
	}
	const errors = `tonewall_sip_accept_errors_total{listener="carrier_tcp"}`
	var conns []net.Conn
	defer func() { closeAll(conns) }()
	for len(conns) < nofile+256 && tw.metric(t, errors) == 0 {
		for range 16 {
			conns = append(conns, dialFrom(t, fmt.Sprintf("127.0.2.%d", 1+len(conns)%250), tw.addr("tcp:carrier_tcp")))
		}
	}
	accErr := tw.waitMetric(t, errors, 3*time.Second, func(v float64) bool { return v > 0 })
	if accErr == 0 {
		t.Fatalf("%d connections against RLIMIT_NOFILE %d and no accept error", len(conns), nofile)
	}
	held, fds := tw.metric(t, "tonewall_sip_connections_open"), tw.fds(t)
	waitReady(t, tw, 503)
	if up := tw.metric(t, `tonewall_sip_listener_up{listener="carrier_tcp"}`); up != 0 {
		t.Errorf("tonewall_sip_listener_up{carrier_tcp} = %.0f while it cannot accept", up)
	}
	tw.alive(t)
	udp := udpFrom(t, "127.0.0.1") // no descriptor needed to answer on UDP
	send(t, udp, udpAddr(t, tw.addr("udp:cc")), request("OPTIONS", "UDP", udp.LocalAddr().String(), "", ""))
	if got := statusLine(udp, 3*time.Second); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS over UDP while descriptors are exhausted: %q", got)
	}
	rising := tw.waitMetric(t, errors, 3*time.Second, func(v float64) bool { return v > accErr })
	t.Logf("RLIMIT_NOFILE %d: %d connections opened, %.0f held by tonewall, %d descriptors open; accept errors %.0f and rising (%.0f), /readyz 503",
		nofile, len(conns), held, fds, accErr, rising)

	closeAll(conns)
	conns = nil
	waitReady(t, tw, 200)
	if got := tcpOptions(t, tw.addr("tcp:carrier_tcp")); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS over TCP after the descriptors came back: %q", got)
	}
	if got := tlsOptions(t, tw.addr("tcp:carrier_tls"), &tls.Config{InsecureSkipVerify: true}); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS over TLS after the descriptors came back: %q", got)
	}
	tw.alive(t)
}

// waitReady polls /readyz (over the kept API connection) for code.
func waitReady(t *testing.T, tw *tonewall, code int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := tw.get(t, "/readyz")
		if got == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d, want %d", got, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func closeAll(cs []net.Conn) {
	for _, c := range cs {
		_ = c.Close()
	}
}

// tlsOptions sends OPTIONS over a new TLS connection and returns the
// status line of the answer ("" when none, or the handshake failed).
func tlsOptions(t *testing.T, to string, cfg *tls.Config) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", to, cfg)
	if err != nil {
		t.Logf("TLS to %s: %v", to, err)
		return ""
	}
	defer c.Close()
	return exchange(c)
}
