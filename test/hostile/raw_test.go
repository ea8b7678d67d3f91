package hostile

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var seq atomic.Int64

// request is a SIP request as a stranger or a flood would write it by
// hand: method, sent from via (host:port over transport), with a
// User-Agent and the SDP offer when body is set.
func request(method, transport, via, ua string, body string) []byte {
	n := seq.Add(1)
	msg := fmt.Sprintf("%[1]s sip:5551000@127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/%[2]s %[3]s;branch=z9hG4bK-h%[4]d;rport\r\n"+
		"From: <sip:attacker@%[3]s>;tag=h%[4]d\r\n"+
		"To: <sip:5551000@127.0.0.1>\r\n"+
		"Call-ID: hostile-%[4]d@%[3]s\r\n"+
		"CSeq: 1 %[5]s\r\n"+
		"Contact: <sip:attacker@%[3]s>\r\n"+
		"Max-Forwards: 70\r\n", method, transport, via, n, method)
	if ua != "" {
		msg += "User-Agent: " + ua + "\r\n"
	}
	if body != "" {
		msg += "Content-Type: application/sdp\r\n"
	}
	return []byte(msg + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
}

// offer is an SDP offer of G.711 on a port nothing listens on.
const offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// udpFrom is a UDP socket on a loopback address (127.0.0.2 and so on are
// all loopback), closed when the test ends.
func udpFrom(t *testing.T, host string) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(host)})
	must(t, err)
	_ = c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { c.Close() })
	return c
}

// received is what came back on a socket over a window: datagrams and
// bytes, and the first line of each.
type received struct {
	datagrams, bytes int
	lines            []string
}

// collect reads c until window passes.
func collect(c *net.UDPConn, window time.Duration) received {
	var r received
	buf := make([]byte, 65536)
	_ = c.SetReadDeadline(time.Now().Add(window))
	for {
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			return r
		}
		r.datagrams++
		r.bytes += n
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		r.lines = append(r.lines, line)
	}
}

// statusLine waits for the first final response on c ("" after within).
func statusLine(c *net.UDPConn, within time.Duration) string {
	buf := make([]byte, 65536)
	_ = c.SetReadDeadline(time.Now().Add(within))
	for {
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			return ""
		}
		if line, _, _ := strings.Cut(string(buf[:n]), "\r\n"); !strings.HasPrefix(line, "SIP/2.0 1") {
			return line
		}
	}
}
