package sip

import (
	"github.com/tonewall/tonewall/internal/card"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

func TestRequestMethod(t *testing.T) {
	tests := []struct{ in, want string }{
		{"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", "INVITE"},
		{"OPTIONS sip:a SIP/2.0", "OPTIONS"},
		{"BYE  sip:a  SIP/2.0\n", "BYE"},
		{"SIP/2.0 200 OK\r\n\r\n", ""},
		{"SIP/2.0 x SIP/2.0\r\n", ""},
		{"INVITE sip:a SIP/3.0\r\n", ""},
		{"INVITE sip:a sip/2.0\r\n", ""},
		{"INVITE sip:a b SIP/2.0\r\n", ""},
		{"INVITE SIP/2.0\r\n", ""},
		{"\r\n\r\n", ""},
		{"", ""},
		{"\x00\xff\xfe", ""},
		{"\tINFO\vsip:a\fSIP/2.0\r\n", "INFO"},
		{"MESSAGE sip:a SIP/2.0 \r\n", "MESSAGE"},
		{"INVITE sip:a SIP/2.0 x\r\n", ""},
		{"INV\u0085ITE sip:a SIP/2.0\r\n", ""},      // U+0085 is a space to strings.Fields
		{"INVITE\u00a0sip:a SIP/2.0\r\n", "INVITE"}, // U+00A0 too
		{"INVITÉ sip:a SIP/2.0\r\n", "INVITÉ"},      // past ASCII, not a space
		{"INVITE sip:a\u3000SIP/2.0\r\n", "INVITE"}, // and U+3000
		{"INVITE sip:a\u3000 x SIP/2.0\r\n", ""},    // four
		{"INVITE sip:ä SIP/2.0\r\n", "INVITE"},
	}
	for _, tt := range tests {
		if got := requestMethod([]byte(tt.in)); got != tt.want {
			t.Errorf("requestMethod(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got, want := requestMethod([]byte(tt.in)), requestMethodFields([]byte(strings.SplitN(tt.in, "\n", 2)[0])); got != want {
			t.Errorf("requestMethod(%q) = %q, strings.Fields makes it %q", tt.in, got, want)
		}
	}
}

// The start lines of a call's requests cost readFilter no allocation.
func TestRequestMethodAllocates(t *testing.T) {
	for _, line := range []string{"INVITE sip:a@b SIP/2.0\r\n", "ACK sip:a@b SIP/2.0\r\n", "BYE sip:a@b SIP/2.0\r\n", "SIP/2.0 200 OK\r\n"} {
		b := []byte(line)
		if n := testing.AllocsPerRun(100, func() { requestMethod(b) }); n != 0 {
			t.Errorf("requestMethod(%q): %v allocations", line, n)
		}
	}
}

// FuzzRequestMethod holds the ASCII fast path to what strings.Fields makes
// of any start line.
func FuzzRequestMethod(f *testing.F) {
	for _, s := range []string{"INVITE sip:a SIP/2.0\r\n", "SIP/2.0 200 OK", "A\u0085B c SIP/2.0", "X\tY\vSIP/2.0"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		line, _, _ := strings.Cut(string(data), "\n")
		if got, want := requestMethod(data), requestMethodFields([]byte(line)); got != want {
			t.Fatalf("requestMethod(%q) = %q, strings.Fields makes it %q", data, got, want)
		}
	})
}

func TestOutOfDialog(t *testing.T) {
	for method, want := range map[string]bool{
		"INVITE": true, "OPTIONS": true, "REGISTER": true, "MESSAGE": true, "SUBSCRIBE": true, "FOO": true,
		"ACK": false, "BYE": false, "CANCEL": false, "PRACK": false, "INFO": false, "UPDATE": false,
	} {
		if got := outOfDialog(method); got != want {
			t.Errorf("outOfDialog(%s) = %v, want %v", method, got, want)
		}
	}
}

func TestHeaderValue(t *testing.T) {
	const start = "OPTIONS sip:a SIP/2.0\r\n"
	tests := []struct{ name, in, want string }{
		{"plain", start + "User-Agent: friendly-scanner\r\n\r\n", "friendly-scanner"},
		{"name in any case", start + "USER-agent: x\r\n\r\n", "x"},
		{"space around name and value", start + "User-Agent \t:  sipvicious 0.3 \t\r\n\r\n", "sipvicious 0.3"},
		{"LF line ends", "OPTIONS sip:a SIP/2.0\nVia: v\nUser-Agent: y\n\n", "y"},
		{"first of two", start + "User-Agent: one\r\nUser-Agent: two\r\n\r\n", "one"},
		{"absent", start + "Via: v\r\n\r\n", ""},
		{"not in the body", start + "Content-Length: 16\r\n\r\nUser-Agent: body", ""},
		{"a longer name is another header", start + "User-Agents: x\r\nX-User-Agent: y\r\n\r\n", ""},
		{"no colon", start + "User-Agent\r\n\r\n", ""},
		{"empty value", start + "User-Agent:\r\n\r\n", ""},
	}
	for _, tt := range tests {
		if got := headerValue([]byte(tt.in), "user-agent"); got != tt.want {
			t.Errorf("%s: headerValue = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestScanner(t *testing.T) {
	s := &Server{cfg: &Config{SIP: Settings{ScannerAgents: []string{"friendly-scanner", "SIPVicious", ""}}}}
	tests := []struct {
		ua   string
		want bool
	}{
		{"friendly-scanner", true},
		{"Friendly-Scanner/1.0", true},
		{"sipvicious", true},
		{"pplsip (sipvicious 0.3)", true},
		{"Linphone/5.2", false},
		{"", false}, // the empty name in the list matches nothing
	}
	for _, tt := range tests {
		if got := s.scanner(tt.ua); got != tt.want {
			t.Errorf("scanner(%q) = %v, want %v", tt.ua, got, tt.want)
		}
	}
	none := &Server{cfg: &Config{}}
	if none.scanner("friendly-scanner") {
		t.Error("no scanner configured, yet one matched")
	}
}

// rawRequest is a well-formed INVITE with its header lines replaced or
// added: a value of "" removes a header.
func rawRequest(change map[string]string, extra ...string) string {
	headers := []struct{ name, value string }{
		{"Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"}, {"From", "<sip:a@b>;tag=1"}, {"To", "<sip:c@d>"},
		{"Call-ID", "c1"}, {"CSeq", "1 INVITE"},
	}
	var b strings.Builder
	b.WriteString("INVITE sip:c@d SIP/2.0\r\n")
	for _, h := range headers {
		v, ok := change[h.name]
		if !ok {
			v = h.value
		}
		if v != "" {
			b.WriteString(h.name + ": " + v + "\r\n")
		}
	}
	for _, l := range extra {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"well-formed", rawRequest(nil), ""},
		{"one Content-Length", rawRequest(nil, "Content-Length: 0"), ""},
		{"two equal Content-Length", rawRequest(nil, "Content-Length: 0", "Content-Length:  0"), ""},
		{"two different Content-Length", rawRequest(nil, "Content-Length: 5", "Content-Length: 0"), "content-length"},
		{"compact and long Content-Length differ", rawRequest(nil, "l: 5", "Content-Length: 0"), "content-length"},
		{"CSeq names another method", rawRequest(map[string]string{"CSeq": "1 BYE"}), "cseq method"},
		{"no Via", rawRequest(map[string]string{"Via": ""}), "missing header"},
		{"no From", rawRequest(map[string]string{"From": ""}), "missing header"},
		{"no To", rawRequest(map[string]string{"To": ""}), "missing header"},
		{"no Call-ID", rawRequest(map[string]string{"Call-ID": ""}), "missing header"},
		{"no CSeq", rawRequest(map[string]string{"CSeq": ""}), "missing header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := sip.ParseMessage([]byte(tt.raw))
			if err != nil {
				t.Fatalf("sipgo cannot parse the test message: %v", err)
			}
			if got := malformed(m.(*sip.Request)); got != tt.want {
				t.Errorf("malformed = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBadRequestForbidden(t *testing.T) {
	raw := "OPTIONS sip:a SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nf: <sip:x@y>;tag=1\r\nt: <sip:a@b>\r\n" +
		"i: c1\r\nCSeq: 1 OPTIONS\r\nContact: <sip:x@192.0.2.1>\r\nUser-Agent: z\r\n\r\n"
	want := "SIP/2.0 403 Forbidden\r\nv: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nf: <sip:x@y>;tag=1\r\nt: <sip:a@b>\r\n" +
		"i: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if got := string(badRequest([]byte(raw), 403, "Forbidden")); got != want {
		t.Errorf("403:\n%q\nwant\n%q", got, want)
	}
	long := "OPTIONS sip:a SIP/2.0\r\nVia: " + strings.Repeat("x", 1100) + "\r\nCall-ID: c\r\n\r\n"
	if got := string(badRequest([]byte(long), 403, "Forbidden")); strings.Contains(got, "xxx") || !strings.Contains(got, "Call-ID: c\r\n") {
		t.Errorf("a header line over 1 KB is echoed, or the others are not:\n%.200q", got)
	}
}

// capturePacketConn is a UDP socket that records what is written to it.
type capturePacketConn struct {
	net.PacketConn
	local  net.Addr
	writes [][]byte
}

func (c *capturePacketConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	c.writes = append(c.writes, append([]byte(nil), b...))
	return len(b), nil
}

func (c *capturePacketConn) LocalAddr() net.Addr { return c.local }

func TestAnswerNeverLarger(t *testing.T) {
	s := &Server{metrics: newMetrics(prometheus.NewRegistry())}
	pc := &capturePacketConn{}
	sock := &udpSocket{PacketConn: pc}
	to := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5060}
	res := []byte("SIP/2.0 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
	s.answer(sock, to, res, len(res)) // as large as the request: sent
	s.answer(sock, to, res, len(res)-1)
	s.answer(sock, to, nil, 1000)
	if len(pc.writes) != 1 || string(pc.writes[0]) != string(res) {
		t.Errorf("written %q, want only the answer that fits", pc.writes)
	}
	if got := value(t, s.metrics.dropped.WithLabelValues("answer_too_large")); got != 2 {
		t.Errorf("answer_too_large = %v, want 2", got)
	}
}

// edgeServer is a Server with one UDP listener (on a capturing socket)
// and one trunk on it, 10.0.0.0/8, enough for readFilter.
func edgeServer(unknown string, lim Limits) (*Server, *capturePacketConn) {
	l := &listener{cfg: Listener{Name: "udp", Transport: "udp"}}
	s := &Server{
		cfg:     &Config{SIP: Settings{UnknownSources: unknown, ScannerAgents: []string{"friendly-scanner"}}},
		sources: newSourceRate(lim.SourceRate, lim.SourceBurst, lim.SourceBlock, 100),
		metrics: newMetrics(prometheus.NewRegistry()),
		abuse:   zap.NewNop(),
	}
	s.tbl.Store(&trunkTable{trunks: []*trunk{{cfg: Trunk{Name: "carrier"}, listener: l,
		sources: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}})
	pc := &capturePacketConn{local: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 100), Port: 5060}}
	s.udpConns.Store(addrPortOf(pc.local), &udpSocket{PacketConn: pc, l: l})
	return s, pc
}

func TestReadFilter(t *testing.T) {
	trunkSrc := &net.UDPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 5060}
	stranger := &net.UDPAddr{IP: net.IPv4(203, 0, 113, 9), Port: 5060}
	valid := rawRequest(nil, "Content-Length: 0")
	unparsable := rawRequest(map[string]string{"CSeq": "one INVITE"}, "Max-Forwards: 70", "Content-Length: 0")
	tests := []struct {
		name     string
		unknown  string
		from     *net.UDPAddr
		data     string
		pass     bool   // handed to sipgo
		answer   string // start of the one datagram written back, if any
		reason   string // the dropped counter that rises, if any
		protocol string
	}{
		{"trunk request passes", "drop", trunkSrc, valid, true, "", "", "UDP"},
		{"trunk response passes", "drop", trunkSrc, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", true, "", "", "UDP"},
		{"keep-alive passes", "drop", stranger, "\r\n\r\n", true, "", "", "UDP"},
		{"stream data is not filtered", "drop", stranger, valid, true, "", "", "TCP"},
		{"stranger dropped", "drop", stranger, valid, false, "", "unknown_source", "UDP"},
		{"stranger refused once", "reject", stranger, valid, false, "SIP/2.0 403 Forbidden\r\n", "unknown_source_rejected", "UDP"},
		{"stranger's ACK not answered", "reject", stranger, strings.ReplaceAll(rawRequest(nil, "Max-Forwards: 70", "Content-Length: 0"), "INVITE", "ACK"), false, "", "unknown_source_rejected", "UDP"},
		{"stranger's response not answered", "reject", stranger, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", false, "", "unknown_source_rejected", "UDP"},
		{"403 larger than the request not sent", "reject", stranger, rawRequest(nil), false, "", "answer_too_large", "UDP"},
		{"scanner dropped", "reject", trunkSrc, rawRequest(nil, "User-Agent: friendly-scanner", "Content-Length: 0"), false, "", "scanner", "UDP"},
		{"trunk's unparsable request answered 400", "drop", trunkSrc, unparsable, false, "SIP/2.0 400 Bad Request\r\n", "", "UDP"},
		{"stranger's unparsable request dropped", "reject", stranger, unparsable, false, "", "malformed", "UDP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, pc := edgeServer(tt.unknown, Limits{SourceRate: -1})
			info := sip.TransportReadProps{Transport: tt.protocol, LocalAddr: pc.local, RemoteAddr: tt.from}
			out, err := s.readFilter(info, []byte(tt.data))
			if err != nil || (out != nil) != tt.pass {
				t.Fatalf("readFilter passed %v (%v), want %v", out != nil, err, tt.pass)
			}
			switch {
			case tt.answer == "" && len(pc.writes) != 0:
				t.Errorf("answered %q", pc.writes)
			case tt.answer != "" && (len(pc.writes) != 1 || !strings.HasPrefix(string(pc.writes[0]), tt.answer)):
				t.Errorf("answered %q, want one %q", pc.writes, tt.answer)
			case len(pc.writes) == 1 && len(pc.writes[0]) > len(tt.data):
				t.Errorf("answer of %d bytes to a request of %d", len(pc.writes[0]), len(tt.data))
			}
			if tt.reason != "" {
				if got := value(t, s.metrics.dropped.WithLabelValues(tt.reason)); got != 1 {
					t.Errorf("dropped{%s} = %v, want 1", tt.reason, got)
				}
			}
		})
	}
}

// TestReadFilterSourceRate: out-of-dialog requests from one source are
// rate limited, the requests of calls in progress are not.
func TestReadFilterSourceRate(t *testing.T) {
	s, pc := edgeServer("drop", Limits{SourceRate: 1, SourceBurst: 2, SourceBlock: 1 << 40})
	info := sip.TransportReadProps{Transport: "UDP", LocalAddr: pc.local, RemoteAddr: &net.UDPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 5060}}
	bye := strings.ReplaceAll(rawRequest(nil), "INVITE", "BYE")
	for i, c := range []struct {
		data string
		pass bool
	}{{rawRequest(nil), true}, {rawRequest(nil), true}, {rawRequest(nil), false}, {bye, true}, {bye, true}, {bye, true}} {
		if out, _ := s.readFilter(info, []byte(c.data)); (out != nil) != c.pass {
			t.Errorf("datagram %d: passed %v, want %v", i, out != nil, c.pass)
		}
	}
	if got := value(t, s.metrics.dropped.WithLabelValues("source_rate")); got != 1 {
		t.Errorf("dropped{source_rate} = %v, want 1", got)
	}
}

// TestCallIDsPassTheEgressChecks: call ids go out in API answers and SIP
// messages, so none may look like a card to the egress checks.
func TestCallIDsPassTheEgressChecks(t *testing.T) {
	for i := range 100_000 {
		if id := newID(); card.HoldsCardNumber([]byte(id)) {
			t.Fatalf("id %d, %s, holds a card-like run", i, id)
		}
	}
}
