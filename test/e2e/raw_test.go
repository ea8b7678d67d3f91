package e2e

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// rawRequest sends one datagram to tonewall and returns the status line of
// the final response ("" when none came in 2s).
func rawRequest(t *testing.T, to, msg string) string {
	t.Helper()
	c, ra := rawConn(t, to)
	_, err := c.WriteTo(rawDatagram(c, msg), ra)
	must(t, err)
	buf := make([]byte, 4096)
	deadline := time.Now().Add(2 * time.Second)
	for {
		_ = c.SetReadDeadline(deadline)
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return ""
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if !strings.HasPrefix(line, "SIP/2.0 1") {
			return line
		}
	}
}

// rawConn is a UDP socket for raw requests to tonewall at to, closed when
// the test ends, and to resolved.
func rawConn(t *testing.T, to string) (net.PacketConn, *net.UDPAddr) {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { c.Close() })
	ra, err := net.ResolveUDPAddr("udp", to)
	must(t, err)
	return c, ra
}

// rawDatagram is msg as sent from c: LOCAL replaced by c's address, lines
// ended with CRLF.
func rawDatagram(c net.PacketConn, msg string) []byte {
	msg = strings.ReplaceAll(msg, "LOCAL", c.LocalAddr().String())
	return []byte(strings.ReplaceAll(strings.ReplaceAll(msg, "\r\n", "\n"), "\n", "\r\n"))
}

func rawMsg(method, extra, body string) string {
	return fmt.Sprintf(`%[1]s sip:5551000@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-%[4]d;rport
From: <sip:caller@127.0.0.1>;tag=abc
To: <sip:5551000@127.0.0.1>
Call-ID: raw-%[4]d@test
CSeq: 1 %[1]s
Contact: <sip:caller@LOCAL>
Max-Forwards: 70
%[2]sContent-Length: %[3]d

%[5]s`, method, extra, len(body), time.Now().UnixNano(), body)
}

func TestRawRequests(t *testing.T) {
	cc := sipua.New(t, "udp")
	s := startSBC(t, sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}})
	to := s.Addr("carrier")
	tests := []struct {
		name, msg, want string
	}{
		{"OPTIONS answered locally", rawMsg("OPTIONS", "", ""), "SIP/2.0 200 OK"},
		{"REFER refused", rawMsg("REFER", "Refer-To: <sip:x@y>\n", ""), "SIP/2.0 405 Transfer Not Supported"},
		{"unknown method", rawMsg("FROBNICATE", "", ""), "SIP/2.0 501 Not Implemented"},
		{"Max-Forwards exhausted", strings.Replace(rawMsg("INVITE", "", ""), "Max-Forwards: 70", "Max-Forwards: 0", 1), "SIP/2.0 483 Too Many Hops"},
		{"Require timer refused", rawMsg("INVITE", "Require: timer\n", ""), "SIP/2.0 420 Bad Extension"},
		{"BYE outside a dialog", rawMsg("BYE", "", ""), "SIP/2.0 481 Call/Transaction Does Not Exist"},
		{"malformed CSeq", strings.Replace(rawMsg("INVITE", "", ""), "CSeq: 1 INVITE", "CSeq: one INVITE", 1), "SIP/2.0 400 Bad Request"},
		{"malformed header line", rawMsg("INVITE", "this line has no colon\n", ""), "SIP/2.0 400 Bad Request"},
		{"missing Call-ID", strings.Replace(rawMsg("INVITE", "", ""), "Call-ID:", "X-Not-Call-ID:", 1), "SIP/2.0 400 Bad Request"},
		{"CSeq names another method", strings.Replace(rawMsg("INVITE", "", ""), "CSeq: 1 INVITE", "CSeq: 1 OPTIONS", 1), "SIP/2.0 400 Bad Request"},
		{"two Content-Length values", rawMsg("OPTIONS", "Content-Length: 7\n", ""), "SIP/2.0 400 Bad Request"},
		{"two equal Content-Length values", rawMsg("OPTIONS", "Content-Length: 0\n", ""), "SIP/2.0 200 OK"},
		{"scanner User-Agent from a trunk source", rawMsg("OPTIONS", "User-Agent: friendly-scanner\n", ""), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawRequest(t, to, tt.msg); !strings.HasPrefix(got, tt.want) || (tt.want == "") != (got == "") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	// Still serving after all that.
	if got := rawRequest(t, to, rawMsg("OPTIONS", "", "")); got != "SIP/2.0 200 OK" {
		t.Fatalf("after bad input: %q", got)
	}
	if n := len(cc.Received(sip.INVITE)); n != 0 {
		t.Fatalf("bad requests reached the contact center %d times", n)
	}
}

// TestUnknownSourceDropped: by default a request from no trunk gets no
// answer at all, and reaches nothing.
func TestUnknownSourceDropped(t *testing.T) {
	cc := sipua.New(t, "udp")
	s := startSBC(t, sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}, Carrier: sbc.Trunk{Sources: []string{"127.0.0.2/32"}}})
	for _, m := range []string{"INVITE", "OPTIONS", "BYE", "REGISTER"} {
		if got := rawRequest(t, s.Addr("carrier"), rawMsg(m, "", "")); got != "" {
			t.Fatalf("%s from no trunk: got %q, want silence", m, got)
		}
	}
	if n := len(cc.Received(sip.INVITE)); n != 0 {
		t.Fatal("a request from no trunk reached the contact center")
	}
}

// TestUnknownSourceForbidden: with unknown_sources: reject a stranger gets
// one 403 and a log line.
func TestUnknownSourceForbidden(t *testing.T) {
	cc := sipua.New(t, "udp")
	s := startSBC(t, sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}, Carrier: sbc.Trunk{Sources: []string{"127.0.0.2/32"}},
		SIP: sbc.SIP{UnknownSources: "reject"}})
	if got := rawRequest(t, s.Addr("carrier"), rawMsg("INVITE", "", "")); got != "SIP/2.0 403 Forbidden" {
		t.Fatalf("got %q, want 403", got)
	}
	if got := rawRequest(t, s.Addr("carrier"), rawMsg("OPTIONS", "", "")); got != "SIP/2.0 403 Forbidden" {
		t.Fatalf("OPTIONS: got %q, want 403", got)
	}
	if n := len(cc.Received(sip.INVITE)); n != 0 {
		t.Fatal("a request from no trunk reached the contact center")
	}
	found := false
	for _, e := range s.Logs.All() {
		if e.Message == "request from no trunk refused" {
			found = true
		}
	}
	if !found {
		t.Fatal("no log line for the refused request")
	}
}

// TestRefusedFloodIsLoggedSampled: 300 requests from no trunk are each
// refused 403 (unknown_sources: reject), but they do not become 300 log lines.
func TestRefusedFloodIsLoggedSampled(t *testing.T) {
	cc := sipua.New(t, "udp")
	s := startSBC(t, sbc.Options{ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}}, Carrier: sbc.Trunk{Sources: []string{"127.0.0.2/32"}},
		SIP: sbc.SIP{UnknownSources: "reject"}})
	for i := 0; i < 300; i++ {
		if got := rawRequest(t, s.Addr("carrier"), rawMsg("OPTIONS", "", "")); got != "SIP/2.0 403 Forbidden" {
			t.Fatalf("request %d: %q", i, got)
		}
	}
	n := len(s.Logs.FilterMessage("request from no trunk refused").All())
	if n == 0 || n > 60 {
		t.Fatalf("%d log lines for 300 refused requests, want a sampled handful", n)
	}
}

// TestCallCapAnswers503: over sip.limits.max_calls a new call gets one 503
// with the configured Retry-After, before anything reaches the contact
// center; a call ending frees its place.
func TestCallCapAnswers503(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{SIP: sbc.SIP{Limits: &sbc.Limits{MaxCalls: 1, RetryAfter: 7 * time.Second}}})
	carrier, cc, s := p.carrier, p.cc, p.s
	sess, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
	must(t, err)
	cc.NextCall(t)
	c, ra := rawConn(t, s.Addr("carrier"))
	_, err = c.WriteTo(rawDatagram(c, rawMsg("INVITE", "", "")), ra)
	must(t, err)
	buf := make([]byte, 4096)
	must(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
	n, _, err := c.ReadFrom(buf)
	must(t, err)
	res := string(buf[:n])
	if !strings.HasPrefix(res, "SIP/2.0 503 ") || !strings.Contains(res, "\r\nRetry-After: 7\r\n") {
		t.Fatalf("a call over max_calls got:\n%s\nwant 503 with Retry-After: 7 and nothing before it", res)
	}
	if got := len(cc.Received(sip.INVITE)); got != 1 {
		t.Fatalf("the contact center saw %d INVITEs, want the admitted call's only", got)
	}
	must(t, sess.Bye(ctx10(t)))
	s.WaitCalls(t, 0)
	again, err := carrier.Call(ctx10(t), s.Addr("carrier"), carrier.SDP())
	if err != nil {
		t.Fatalf("a call after the first ended: %v", err)
	}
	_ = again.Bye(ctx10(t))
}

// TestSourceRateOverTCP: a source over sip.limits.source_rate is dropped
// on streams too, unanswered, and counted.
func TestSourceRateOverTCP(t *testing.T) {
	cc := sipua.New(t, "tcp")
	s := startSBC(t, sbc.Options{Transport: "tcp", ContactCenter: sbc.Trunk{Targets: []string{cc.Addr}},
		SIP: sbc.SIP{Limits: &sbc.Limits{SourceRate: 5, SourceBurst: 5, SourceBlock: 5 * time.Second}}})
	c, err := net.Dial("tcp", s.Addr("carrier"))
	must(t, err)
	defer c.Close()
	for i := 0; i < 10; i++ {
		msg := strings.ReplaceAll(rawMsg("OPTIONS", "", ""), "SIP/2.0/UDP LOCAL", "SIP/2.0/TCP "+c.LocalAddr().String())
		msg = strings.ReplaceAll(strings.ReplaceAll(msg, "LOCAL", c.LocalAddr().String()), "\n", "\r\n")
		msg = strings.Replace(msg, "Call-ID: raw-", fmt.Sprintf("Call-ID: rate%d-", i), 1)
		_, err := c.Write([]byte(msg))
		must(t, err)
	}
	must(t, c.SetReadDeadline(time.Now().Add(1500*time.Millisecond)))
	got, _ := io.ReadAll(c) // until the deadline
	if n := strings.Count(string(got), "SIP/2.0 200 OK"); n != 5 {
		t.Fatalf("%d OPTIONS answered of 10 sent at a source_burst of 5, want 5", n)
	}
	if _, body := apiGet(t, s, "", "/metrics"); !strings.Contains(body, `tonewall_sip_dropped_total{reason="source_rate"} 5`) {
		t.Fatal("the 5 dropped requests are not counted as source_rate")
	}
}
