package hostile

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Short deadlines, so a test can wait them out.
const (
	messageTimeout   = 600 * time.Millisecond
	idleTimeout      = 900 * time.Millisecond
	handshakeTimeout = 400 * time.Millisecond
	lateBy           = time.Second // how late a close may come on a loaded CI machine
)

var slowYAML = topology{transports: []string{"tcp", "tls"}, sources: "127.0.0.0/8", target: "127.0.0.1:9",
	sip: fmt.Sprintf("  limits: {message_timeout: %s, idle_timeout: %s, handshake_timeout: %s, max_connections_per_source: 4}\n",
		messageTimeout, idleTimeout, handshakeTimeout)}.yaml()

// TestSlowSendersClosedAtDeadline: connections that trickle a message a
// byte at a time are closed message_timeout after its first byte; silent
// ones idle_timeout after they open; TLS ones that never say hello
// handshake_timeout after. Each close is counted by kind.
func TestSlowSendersClosedAtDeadline(t *testing.T) {
	tw := start(t, slowYAML, 0)
	n := size(8, 64)
	kinds := []struct {
		name, listener, series string
		deadline               time.Duration
		feed                   func(c net.Conn, stop <-chan struct{})
	}{
		{"trickle", "tcp:carrier_tcp", `tonewall_sip_connection_timeouts_total{kind="message"}`, messageTimeout, trickle},
		{"silent", "tcp:carrier_tcp", `tonewall_sip_connection_timeouts_total{kind="idle"}`, idleTimeout, nil},
		{"no TLS hello", "tcp:carrier_tls", `tonewall_tls_handshake_failures_total{listener="carrier_tls"}`, handshakeTimeout, nil},
	}
	for _, k := range kinds {
		before := tw.metric(t, k.series)
		results := make(chan time.Duration, n)
		for i := range n {
			// Spread over sources: the per-source cap (4) is not what is tested.
			c := dialFrom(t, fmt.Sprintf("127.0.1.%d", 1+i), tw.addr(k.listener))
			go func() { results <- closedAfter(c, k.feed) }()
		}
		var slowest time.Duration
		for range n {
			d := <-results
			if d < k.deadline-50*time.Millisecond || d > k.deadline+lateBy {
				t.Errorf("%s: closed after %s, want %s", k.name, d, k.deadline)
			}
			slowest = max(slowest, d)
		}
		got := tw.waitMetric(t, k.series, 2*time.Second, func(v float64) bool { return v-before >= float64(n) })
		if got-before < float64(n) {
			t.Errorf("%s: %s rose by %.0f for %d connections", k.name, k.series, got-before, n)
		}
		t.Logf("%s: %d connections closed at %s (slowest after %s)", k.name, n, k.deadline, slowest.Round(time.Millisecond))
	}
	if got := tw.metric(t, `tonewall_sip_connections_open`); got != 0 {
		t.Errorf("tonewall_sip_connections_open = %.0f after every connection closed", got)
	}
	tw.alive(t)
	if got := tcpOptions(t, tw.addr("tcp:carrier_tcp")); got != "SIP/2.0 200 OK" {
		t.Fatalf("OPTIONS over TCP after the slow senders: %q", got)
	}
}

// trickle writes a SIP request one byte every 100 ms, never finishing it.
func trickle(c net.Conn, stop <-chan struct{}) {
	msg := request("OPTIONS", "TCP", c.LocalAddr().String(), "", "")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for _, b := range msg[:len(msg)-1] {
		if _, err := c.Write([]byte{b}); err != nil {
			return
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// closedAfter runs feed on c (if any) and returns how long after the
// start tonewall took to close c; it closes c.
func closedAfter(c net.Conn, feed func(net.Conn, <-chan struct{})) time.Duration {
	defer c.Close()
	t0 := time.Now()
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		if feed != nil {
			feed(c, stop)
		}
	}()
	_ = c.SetReadDeadline(t0.Add(30 * time.Second))
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	d := time.Since(t0)
	close(stop)
	<-fed
	return d
}

// dialFrom opens a TCP connection from a loopback source address.
func dialFrom(t *testing.T, src, to string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", to)
	must(t, err)
	return c
}

// tcpOptions sends OPTIONS over a new TCP connection and returns the
// status line of the answer.
func tcpOptions(t *testing.T, to string) string {
	t.Helper()
	c := dialFrom(t, "127.0.0.1", to)
	defer c.Close()
	return exchange(c)
}

// exchange sends OPTIONS over a stream and returns the answer's status
// line ("" when none came in 3 s).
func exchange(c net.Conn) string {
	transport := "TCP"
	if _, ok := c.(*tls.Conn); ok {
		transport = "TLS"
	}
	if _, err := c.Write(request("OPTIONS", transport, c.LocalAddr().String(), "", "")); err != nil {
		return ""
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line
}
