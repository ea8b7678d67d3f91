package e2e

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
)

// sdpAddr returns the audio address an SDP body points at.
func sdpAddr(t *testing.T, body []byte) *net.UDPAddr {
	t.Helper()
	var host string
	var port int
	for _, l := range strings.Split(string(body), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "c=IN IP4 ") {
			host = strings.TrimPrefix(l, "c=IN IP4 ")
		}
		if strings.HasPrefix(l, "m=audio ") {
			port, _ = strconv.Atoi(strings.Fields(l)[1])
		}
	}
	if host == "" || port == 0 {
		t.Fatalf("no audio address in SDP:\n%s", body)
	}
	return &net.UDPAddr{IP: net.ParseIP(host), Port: port}
}

// TestMediaThroughRelay: RTP sent where tonewall's SDP says arrives at the
// other side, both ways, from tonewall's ports (never end to end).
func TestMediaThroughRelay(t *testing.T) {
	p := newPeers(t, "udp", sbc.Options{})
	carrier, cc, s := p.carrier, p.cc, p.s
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, _ := p.call(t, ctx)
	toCarrierSide := sdpAddr(t, sess.InviteResponse.Body()) // tonewall's port facing the carrier
	toCCSide := sdpAddr(t, cc.Received("INVITE")[0].Body()) // tonewall's port facing the contact center
	payload := bytes.Repeat([]byte{0xff}, 160)
	for i := 0; i < 5; i++ {
		sendRTP(t, carrier.Phone.Conn, toCarrierSide, uint16(100+i), payload)
		sendRTP(t, cc.Phone.Conn, toCCSide, uint16(500+i), payload)
	}
	checkRTP(t, cc.Phone.Conn, "carrier → contact center", toCCSide)
	checkRTP(t, carrier.Phone.Conn, "contact center → carrier", toCarrierSide)
	must(t, sess.Bye(ctx))
	s.WaitCalls(t, 0)
}

func sendRTP(t *testing.T, c *net.UDPConn, to *net.UDPAddr, seq uint16, payload []byte) {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 0x1234}, Payload: payload}
	b, err := p.Marshal()
	must(t, err)
	_, err = c.WriteToUDP(b, to)
	must(t, err)
}

func checkRTP(t *testing.T, c *net.UDPConn, what string, relay *net.UDPAddr) {
	t.Helper()
	buf := make([]byte, 1500)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	n, from, err := c.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("%s: no RTP arrived: %v", what, err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil || len(p.Payload) != 160 {
		t.Fatalf("%s: not the RTP sent: %v", what, err)
	}
	if !from.IP.Equal(relay.IP) {
		t.Fatalf("%s: RTP came from %s, not from tonewall", what, from)
	}
}
