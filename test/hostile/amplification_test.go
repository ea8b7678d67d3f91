package hostile

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// strangerYAML: one carrier trunk at 127.0.0.2; 127.0.0.1 is nobody's.
func strangerYAML(unknownSources string) string {
	return topology{transports: []string{"udp"}, sources: "127.0.0.2/32", target: "127.0.0.2:9",
		sip: "  unknown_sources: " + unknownSources + "\n"}.yaml()
}

// retransmitWindow outlasts sipgo's retransmissions of a final response to
// an INVITE over UDP (T1 500 ms, doubling: 0.5+1+2 s) and of a 100 Trying.
const retransmitWindow = 5500 * time.Millisecond

// TestStrangerAmplification: a stranger sends every method, garbage and a
// scanner's User-Agent. Dropping, tonewall sends nothing back; rejecting,
// one 403 at most per request, never larger than the request, never a 100
// Trying, never retransmitted.
func TestStrangerAmplification(t *testing.T) {
	for _, mode := range []string{"drop", "reject"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			tw := start(t, strangerYAML(mode), 0)
			to := udpAddr(t, tw.addr("udp:carrier_udp"))
			friend := udpFrom(t, "127.0.0.2") // the listener answers its trunk
			send(t, friend, to, request("OPTIONS", "UDP", friend.LocalAddr().String(), "", ""))
			if got := statusLine(friend, 2*time.Second); got != "SIP/2.0 200 OK" {
				t.Fatalf("OPTIONS from the trunk: %q, want 200 OK", got)
			}
			probes := strangerProbes()
			socks := make([]*net.UDPConn, len(probes))
			in := make([]int, len(probes))
			for i, p := range probes {
				socks[i] = udpFrom(t, "127.0.0.1")
				msg := p.msg(socks[i].LocalAddr().String())
				in[i] = len(msg)
				send(t, socks[i], to, msg)
			}
			got := make([]received, len(probes))
			done := make(chan int)
			for i := range probes {
				go func() { got[i] = collect(socks[i], retransmitWindow); done <- i }()
			}
			for range probes {
				<-done
			}
			totalIn, totalOut := 0, 0
			for i, p := range probes {
				totalIn, totalOut = totalIn+in[i], totalOut+got[i].bytes
				checkProbe(t, mode, p, in[i], got[i])
			}
			t.Logf("%s: %d stranger requests, %d bytes in, %d bytes out (ratio %.3f) over %s",
				mode, len(probes), totalIn, totalOut, float64(totalOut)/float64(totalIn), retransmitWindow)
			tw.alive(t)
		})
	}
}

// probe is one request a stranger sends, and whether reject mode answers
// it 403.
type probe struct {
	name    string
	msg     func(via string) []byte
	answers bool
}

func strangerProbes() []probe {
	var ps []probe
	for _, m := range []string{"INVITE", "OPTIONS", "REGISTER", "BYE", "CANCEL", "INFO", "MESSAGE", "SUBSCRIBE"} {
		body := ""
		if m == "INVITE" {
			body = offer
		}
		ps = append(ps, probe{m, func(via string) []byte { return request(m, "UDP", via, "", body) }, true})
	}
	return append(ps,
		probe{"ACK", func(via string) []byte { return request("ACK", "UDP", via, "", "") }, false},
		probe{"garbage", func(string) []byte { return []byte("\x16\x03\x01\x00\xa5 not SIP at all\r\n\r\n") }, false},
		probe{"half a request", func(via string) []byte { return request("INVITE", "UDP", via, "", "")[:60] }, false},
		probe{"friendly-scanner", func(via string) []byte { return request("OPTIONS", "UDP", via, "friendly-scanner", "") }, false},
		probe{"sipvicious INVITE", func(via string) []byte { return request("INVITE", "UDP", via, "sipvicious 0.3", offer) }, false},
	)
}

// checkProbe: what came back for one stranger request.
func checkProbe(t *testing.T, mode string, p probe, in int, got received) {
	t.Helper()
	for _, l := range got.lines {
		if strings.HasPrefix(l, "SIP/2.0 1") {
			t.Errorf("%s: a provisional response reached a stranger: %q", p.name, l)
		}
	}
	switch {
	case mode == "drop" || !p.answers:
		if got.datagrams != 0 {
			t.Errorf("%s (%s): %d datagrams, %d bytes back (%q), want silence", p.name, mode, got.datagrams, got.bytes, got.lines)
		}
	case got.datagrams != 1 || got.lines[0] != "SIP/2.0 403 Forbidden":
		t.Errorf("%s (reject): got %q, want one 403 and no retransmission", p.name, got.lines)
	case got.bytes > in:
		t.Errorf("%s (reject): %d bytes back for %d in: tonewall amplifies", p.name, got.bytes, in)
	}
}

// TestScannerFloodSilent: a scanner's flood (and, dropping, a stranger's)
// gets not one reply, and every request is counted dropped. Logs how many
// requests a second one core of tonewall drops.
func TestScannerFloodSilent(t *testing.T) {
	n := size(2000, 20000)
	for _, mode := range []string{"drop", "reject"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			tw := start(t, strangerYAML(mode), 0)
			reason := map[string]string{"drop": "unknown_source", "reject": "scanner"}[mode]
			series := fmt.Sprintf(`tonewall_sip_dropped_total{reason=%q}`, reason)
			to := udpAddr(t, tw.addr("udp:carrier_udp"))
			c := udpFrom(t, "127.0.0.1")
			via := c.LocalAddr().String()
			cpu0, t0 := tw.cpu(t), time.Now()
			paced(n, 20000, func(i int) {
				m := []string{"OPTIONS", "INVITE", "REGISTER"}[i%3]
				send(t, c, to, request(m, "UDP", via, "friendly-scanner", ""))
			})
			dropped := tw.waitMetric(t, series, 10*time.Second, func(v float64) bool { return v >= float64(n) })
			cpu, wall := tw.cpu(t)-cpu0, time.Since(t0)
			back := collect(c, 2*time.Second)
			if back.datagrams != 0 {
				t.Fatalf("the flood got %d replies (%d bytes): %q", back.datagrams, back.bytes, back.lines[:min(3, len(back.lines))])
			}
			if dropped < float64(n) {
				t.Fatalf("%s = %.0f after %d requests: some went elsewhere", series, dropped, n)
			}
			t.Logf("%s: %d scanner requests dropped in %s wall, %s CPU: %.0f requests/s per core; 0 bytes back",
				mode, n, wall.Round(time.Millisecond), cpu, float64(n)/max(cpu.Seconds(), 0.01))
			tw.alive(t)
		})
	}
}

// paced calls f n times at about perSec a second, in 1 ms ticks.
func paced(n, perSec int, f func(i int)) {
	perTick := max(1, perSec/1000)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for i := 0; i < n; {
		for j := 0; j < perTick && i < n; j++ {
			f(i)
			i++
		}
		<-tick.C
	}
}

func send(t *testing.T, c *net.UDPConn, to *net.UDPAddr, msg []byte) {
	t.Helper()
	if _, err := c.WriteToUDP(msg, to); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func udpAddr(t *testing.T, s string) *net.UDPAddr {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp", s)
	must(t, err)
	return a
}
