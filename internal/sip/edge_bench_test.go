package sip

import (
	"net"
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// benchEdge is a Server with one UDP listener on 127.0.0.1:5060 and one
// trunk whose source is 10.0.0.1/32, enough for readFilter.
func benchEdge(b *testing.B, mode string) (*Server, sip.TransportReadProps) {
	cfg := &Config{}
	cfg.SIP.UnknownSources = mode
	cfg.SIP.ScannerAgents = DefaultScannerAgents
	s := &Server{cfg: cfg, log: zap.NewNop(), abuse: zap.NewNop(), metrics: newMetrics(prometheus.NewRegistry())}
	l := &listener{cfg: Listener{Name: "carrier", Transport: "udp"}}
	s.tbl.Store(&trunkTable{trunks: []*trunk{{listener: l, sources: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}}}})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pc.Close() })
	s.udpConns.Store(addrPortOf(pc.LocalAddr()), &udpSocket{PacketConn: pc, l: l})
	s.sources = newSourceRate(-1, 0, 0, 0)
	return s, sip.TransportReadProps{Transport: "UDP", LocalAddr: pc.LocalAddr(),
		RemoteAddr: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 5060}}
}

var scannerInvite = []byte("INVITE sip:100@198.51.100.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK-1\r\n" +
	"From: \"sipvicious\"<sip:100@1.1.1.1>;tag=1\r\nTo: <sip:100@198.51.100.1>\r\nCall-ID: 123@x\r\nCSeq: 1 INVITE\r\n" +
	"User-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n")

// BenchmarkReadFilterStranger is the cost of dropping a stranger's
// datagram before sipgo parses it (the kernel's receive not included).
func BenchmarkReadFilterStranger(b *testing.B) {
	s, info := benchEdge(b, "drop")
	b.ReportAllocs()
	b.SetBytes(int64(len(scannerInvite)))
	for b.Loop() {
		if out, _ := s.readFilter(info, scannerInvite); out != nil {
			b.Fatal("a stranger's datagram passed")
		}
	}
}

var trunkInvite = []byte("INVITE sip:18005550100@198.51.100.1:5060 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-524287-1;rport\r\n" +
	"Max-Forwards: 70\r\nFrom: <sip:caller@10.0.0.1>;tag=a73kszlfl\r\nTo: <sip:18005550100@198.51.100.1>\r\n" +
	"Call-ID: 1-4711@10.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@10.0.0.1:5060>\r\n" +
	"User-Agent: Carrier SBC 4.2\r\nContent-Type: application/sdp\r\nContent-Length: 129\r\n\r\n" +
	"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" +
	"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")

// BenchmarkReadFilterTrunk is what every datagram of a trunk's calls pays
// in readFilter before sipgo parses it, the parse that tells a malformed
// message (answered 400 here) from a good one included.
func BenchmarkReadFilterTrunk(b *testing.B) {
	s, info := benchEdge(b, "drop")
	info.RemoteAddr = &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5060}
	b.ReportAllocs()
	b.SetBytes(int64(len(trunkInvite)))
	for b.Loop() {
		if out, _ := s.readFilter(info, trunkInvite); out == nil {
			b.Fatal("a trunk's INVITE was dropped")
		}
	}
}
