package sip

import (
	"bytes"
	"context"
	"errors"
	"github.com/prometheus/client_golang/prometheus"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/pion/sdp/v3"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/media"
)

// The B2BUA as the fuzz targets see it: a Server with what the functions
// that read an incoming message need, and no sipgo user agent or socket.
// fuzzCall adds a call whose legs rewrite SDP through a real media session.

const fuzzAdvertise = "127.0.0.1" // the media address every rewritten SDP must name

var fuzzPass = []string{"User-to-User", "X-Genesys-*", "P-Asserted-Identity", "Diversion"}

func fuzzServer(tb testing.TB) *Server {
	tb.Helper()
	cfg := &Config{}
	cfg.SIP.HeaderPass = fuzzPass
	ua := "tonewall"
	cfg.SIP.UserAgent = &ua
	mm, err := media.NewManager(media.Config{Address: fuzzAdvertise, PortMin: 32000, PortMax: 32599, Drain: 1}, zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = mm.Close() })
	s := &Server{cfg: cfg, log: zap.NewNop(), abuse: zap.NewNop(), media: mm, nonceKey: bytes.Repeat([]byte{7}, 32),
		ready: make(chan struct{}), failed: make(chan struct{})}
	s.calls.m = map[string]*Call{}
	s.dialogs.m = map[string]*Leg{}
	s.metrics = newMetrics(prometheus.NewRegistry())
	// readFilter's view: a UDP listener at fuzzUDP whose trunk is the
	// sender, so every datagram takes the full path of a trunk's.
	l := &listener{cfg: Listener{Name: "fuzz", Transport: "udp"}}
	s.tbl.Store(&trunkTable{trunks: []*trunk{{listener: l, sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}}})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // its 400s to 192.0.2.1 go nowhere
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = pc.Close() })
	s.udpConns.Store(addrPortOf(fuzzUDP), &udpSocket{PacketConn: pc, l: l})
	return s
}

var fuzzUDP = &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5060}

// fuzzCall is a confirmed call between a carrier leg (a) and a contact-center
// leg (b) with a fresh media session; the caller closes the session.
func fuzzCall(tb testing.TB, s *Server) *Call {
	sess, err := s.media.NewSession("fuzz", media.LegPolicy{SRTP: media.SRTPOptional}, media.LegPolicy{SRTP: media.SRTPOptional})
	if err != nil {
		tb.Fatal(err)
	}
	l := &listener{cfg: Listener{Transport: "udp"}, addr: netip.MustParseAddrPort("127.0.0.1:5060"),
		advertise: sip.Uri{Host: "203.0.113.1", Port: 5060}}
	c := &Call{id: "fuzz", srv: s, log: zap.NewNop(), sess: sess, acks: make(chan *sip.Request, 1), ended: make(chan struct{})}
	c.a = &Leg{call: c, listener: l, side: media.Carrier, callID: "carrier-call", localTag: "tag-a",
		remoteURI: sip.Uri{Scheme: "sip", Host: "192.0.2.1"}, remoteTarget: sip.Uri{Scheme: "sip", Host: "192.0.2.1"}}
	c.b = &Leg{call: c, listener: l, side: media.ContactCenter, callID: "cc-call@tonewall", localTag: "tag-b",
		remoteURI: sip.Uri{Scheme: "sip", Host: "198.51.100.1"}, remoteTarget: sip.Uri{Scheme: "sip", Host: "198.51.100.1"}}
	return c
}

const fuzzSDP = "v=0\r\no=carrier 1 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\n" +
	"m=audio 40000 RTP/SAVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n" +
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31\r\na=sendrecv\r\n"

func fuzzMsg(start string, headers []string, body string) []byte {
	h := append([]string{start}, headers...)
	if body != "" {
		h = append(h, "Content-Type: application/sdp")
	}
	h = append(h, "Content-Length: "+strconv.Itoa(len(body)))
	return []byte(strings.Join(h, "\r\n") + "\r\n\r\n" + body)
}

var dialogHeaders = []string{
	"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-carrier-1;rport",
	"Record-Route: <sip:edge1.carrier.example;lr>, <sip:edge2.carrier.example;lr>",
	"From: \"Caller\" <sip:+15550100@carrier.example>;tag=c1",
	"To: <sip:+15550199@tonewall.example>",
	"Call-ID: 3848276298220188511@carrier.example",
	"CSeq: 1 INVITE",
	"Max-Forwards: 70",
	"Contact: <sip:carrier@192.0.2.1:5060>",
	"User-to-User: 00AB12;encoding=hex",
	"X-Genesys-Queue: cards",
	"X-Carrier-Internal: 10.0.0.7",
}

func sipSeeds() [][]byte {
	withTo := append([]string(nil), dialogHeaders...)
	withTo[3] = "To: <sip:+15550199@tonewall.example>;tag=tag-a"
	return [][]byte{
		fuzzMsg("INVITE sip:+15550199@tonewall.example SIP/2.0", dialogHeaders, fuzzSDP),
		fuzzMsg("INVITE sip:+15550199@tonewall.example SIP/2.0", append(dialogHeaders,
			`Authorization: Digest username="carrier", realm="tonewall", nonce="AAAAAGVhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY", uri="sip:+15550199@tonewall.example", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b"`,
			"Require: 100rel, timer", "Require: ,replaces,"), fuzzSDP),
		fuzzMsg("UPDATE sip:tonewall@203.0.113.1 SIP/2.0", withTo, strings.Replace(fuzzSDP, "sendrecv", "sendonly", 1)),
		fuzzMsg("INFO sip:tonewall@203.0.113.1 SIP/2.0", withTo, ""),
		fuzzMsg("OPTIONS sip:tonewall.example SIP/2.0", []string{"v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK7", "f: <sip:ping@carrier.example>;tag=9",
			"t: <sip:tonewall.example>", "i: opt-1", "CSeq: 7 OPTIONS"}, ""),
		fuzzMsg("SIP/2.0 200 OK", append(withTo, "Record-Route: <sip:cc-edge.example;lr>"),
			strings.Replace(strings.Replace(fuzzSDP, "192.0.2.50", "198.51.100.50", -1), "RTP/SAVP 0 8 101", "RTP/SAVP 0 101", 1)),
		fuzzMsg("SIP/2.0 401 Unauthorized", append(withTo, `WWW-Authenticate: Digest realm="cc", nonce="x"`), ""),
		fuzzMsg("SIP/2.0 200 OK", withTo, "v=0\r\nc=IN IP4 ::ffff:1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n"),
		fuzzMsg("SIP/2.0 183 Session Progress", append(withTo, "Require: 100rel", "RSeq: 1"),
			strings.Replace(fuzzSDP, "192.0.2.50", "198.51.100.50", -1)),
		fuzzMsg("SIP/2.0 302 Moved Temporarily", append(withTo, "Contact: <sip:elsewhere@198.51.100.9>"), ""),
		fuzzMsg("SIP/2.0 486 Busy Here", withTo, ""),
		[]byte("INVITE sip:a@b SIP/2.0\r\nVia: x\r\nCSeq: one INVITE\r\n\r\n"),
	}
}

// FuzzSIPMessage parses arbitrary bytes as sipgo does and hands the message
// to every part of the B2BUA that reads an incoming message without a
// socket: the UDP read filter and its 400, the handlers' well-formedness
// check and responses, dialog lookup, Require, Record-Route, digest
// authentication, the header pass-list, and the SDP rewrite of an in-dialog
// request (offer) or of the other leg's response (answer).
func FuzzSIPMessage(f *testing.F) {
	for _, s := range sipSeeds() {
		f.Add(s)
	}
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkReadFilter(t, s, data)
		msg, err := sip.ParseMessage(data)
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *sip.Request:
			m.SetSource("192.0.2.1:5060")
			checkRequest(t, s, m)
		case *sip.Response:
			checkResponse(t, s, m)
		}
	})
}

// checkReadFilter: a datagram that parses goes on untouched; one that does
// not is dropped, and any 400 built for it echoes only header lines that
// were in it and that a 400 must carry.
func checkReadFilter(t *testing.T, s *Server, data []byte) {
	got, err := s.readFilter(sip.TransportReadProps{Transport: "UDP", LocalAddr: fuzzUDP, RemoteAddr: fuzzUDP}, data)
	if err != nil {
		t.Fatalf("readFilter error: %v", err)
	}
	_, perr := sip.ParseMessage(data)
	if keep := len(bytes.TrimSpace(data)) == 0 || perr == nil; keep && !bytes.Equal(got, data) || !keep && got != nil {
		t.Fatalf("readFilter passed on %q for parse error %v", got, perr)
	}
	res := badRequest(data, 400, "Bad Request")
	if res == nil {
		return
	}
	lines := strings.Split(strings.TrimSuffix(string(res), "\r\n\r\n"), "\r\n")
	if lines[0] != "SIP/2.0 400 Bad Request" || lines[len(lines)-1] != "Content-Length: 0" {
		t.Fatalf("malformed 400: %q", res)
	}
	in := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		in[strings.TrimRight(l, "\r")] = true
	}
	for _, l := range lines[1 : len(lines)-1] {
		if !in[l] || !echoHeader(l) {
			t.Fatalf("400 echoes %q, not a Via/From/To/Call-ID/CSeq line of the request", l)
		}
	}
}

func checkRequest(t *testing.T, s *Server, req *sip.Request) {
	if malformed(req) != "" { // withRecovery answers these 400 and stops
		_ = sip.NewResponseFromRequest(req, 400, "Bad Request", nil).String()
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	s.addServerHeaders(res)
	_ = res.String()
	if s.legOf(req) != nil {
		t.Fatal("a dialog found in an empty table")
	}
	checkRequire(t, req)
	if n, max := len(recordRoutes(req)), strings.Count(headerValues(req, "Record-Route"), ",")+len(req.GetHeaders("Record-Route")); n > max {
		t.Fatalf("%d Record-Route URIs from %d values", n, max)
	}
	checkAuth(t, s, req)
	out := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", Host: "198.51.100.1"})
	s.copyPassHeaders(req, out)
	checkPassed(t, out)
	checkCross(t, s, req)
}

func headerValues(m headerMsg, name string) string {
	var vs []string
	for _, h := range m.GetHeaders(name) {
		vs = append(vs, h.Value())
	}
	return strings.Join(vs, ",")
}

// checkRequire: a 420's Unsupported lists trimmed, non-empty option tags,
// and there is one exactly when Require names a tag.
func checkRequire(t *testing.T, req *sip.Request) {
	got, require := unsupported(req), headerValues(req, "Require")
	if (got == "") != (strings.Trim(require, " \t,") == "") {
		t.Fatalf("Unsupported %q for Require %q", got, require)
	}
	for _, tag := range strings.Split(got, ", ") {
		if got != "" && (tag == "" || tag != strings.TrimSpace(tag)) {
			t.Fatalf("Unsupported %q lists tag %q", got, tag)
		}
	}
}

// checkAuth: with inbound_auth on, no request passes on credentials it can
// make up (the nonce is ours and HMAC-signed); a refusal is a 401 whose
// challenge parses, or a 403.
func checkAuth(t *testing.T, s *Server, req *sip.Request) {
	tr := &trunk{cfg: Trunk{Name: "carrier", InboundAuth: &Digest{Realm: "tonewall", Username: "carrier", Password: "secret"}}}
	err := s.authenticate(req, tr)
	if err == nil {
		t.Fatal("made-up digest credentials accepted")
	}
	var ch *challengeError
	code, _ := statusOf(err)
	switch {
	case code == 401 && errors.As(err, &ch):
		if _, perr := digest.ParseChallenge(ch.header); perr != nil {
			t.Fatalf("our own challenge %q does not parse: %v", ch.header, perr)
		}
	case code == 403:
	default:
		t.Fatalf("authentication refused with %d: %v", code, err)
	}
}

// checkPassed: only pass-listed headers cross, User-to-User once at most.
func checkPassed(t *testing.T, out *sip.Request) {
	uui := 0
	for _, h := range out.Headers() {
		if !passListed(h.Name()) {
			t.Fatalf("header %q crossed; it is not pass-listed", h.Name())
		}
		if strings.EqualFold(h.Name(), "User-to-User") {
			uui++
		}
	}
	if uui > 1 {
		t.Fatalf("%d User-to-User headers crossed", uui)
	}
}

func passListed(name string) bool {
	for _, p := range fuzzPass {
		if pre, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(strings.ToLower(name), strings.ToLower(pre)) || strings.EqualFold(p, name) {
			return true
		}
	}
	return false
}

// checkCross sends the request across a call from the carrier leg: the copy
// is the contact-center dialog's own request, and an SDP offer in it comes
// out pointing at the relay.
func checkCross(t *testing.T, s *Server, req *sip.Request) {
	c := fuzzCall(t, s)
	defer c.sess.Close()
	out, offered, err := c.crossRequest(c.a, c.b, req)
	if err != nil {
		if code, _ := statusOf(err); code == 500 { // a bad offer is the sender's fault: 488
			t.Fatalf("crossRequest refused with a 500: %v", err)
		}
		return
	}
	defer c.rollback(offered)
	if out.CallID().Value() != c.b.callID || out.Via() != nil || out.GetHeader("Record-Route") != nil {
		t.Fatalf("the carrier's dialog leaked into the contact center's request:\n%s", out)
	}
	if tag, _ := out.From().Params.Get("tag"); tag != c.b.localTag {
		t.Fatalf("From tag %q on the contact-center leg", tag)
	}
	if offered {
		checkRewritten(t, req.Body(), out.Body())
	}
}

// checkResponse treats a parsed response as the contact center's answer
// to a re-INVITE the carrier sent with an SDP offer.
func checkResponse(t *testing.T, s *Server, res *sip.Response) {
	inv, err := sip.ParseMessage(sipSeeds()[0])
	if err != nil {
		t.Fatal(err)
	}
	req := inv.(*sip.Request)
	c := fuzzCall(t, s)
	defer c.sess.Close()
	_, offered, err := c.crossRequest(c.a, c.b, req)
	if err != nil || !offered {
		t.Fatalf("seed offer not taken: %v", err)
	}
	out := c.crossResponse(c.a, c.b, req, res, offered)
	want := res.StatusCode
	if want == 401 || want == 407 {
		want = 500 // the contact center's challenge is not the carrier's to answer
	}
	if out.StatusCode != want {
		t.Fatalf("status %d relayed as %d", res.StatusCode, out.StatusCode)
	}
	rr := headerValues(out, "Record-Route") // the carrier's own route set, or none
	if out.CallID().Value() != req.CallID().Value() || rr != "" && rr != headerValues(req, "Record-Route") ||
		len(out.GetHeaders("Via")) != len(req.GetHeaders("Via")) {
		t.Fatalf("the contact center's dialog leaked into the carrier's response:\n%s", out)
	}
	if res.IsSuccess() && len(res.Body()) > 0 && len(out.Body()) > 0 {
		checkRewritten(t, res.Body(), out.Body())
	} else {
		c.rollback(offered)
	}
	checkLegB(t, s, req, res.Clone())
}

// respondTx records what the B2BUA answers on leg A's INVITE transaction.
type respondTx struct {
	sip.ServerTransaction // nil: only Respond is used
	got                   []*sip.Response
}

func (tx *respondTx) Respond(res *sip.Response) error {
	tx.got = append(tx.got, res)
	return nil
}

// checkLegB treats a parsed response as leg B's answer to the INVITE that
// placed the call (outbound.onResponse): early media, the dialog it
// establishes, or the failure relayed to leg A. A response to a stray
// transaction is looked up by its dialog.
func checkLegB(t *testing.T, s *Server, aReq *sip.Request, res *sip.Response) {
	s.onStrayResponse(res) // an empty table: nothing to re-ACK, nothing read amiss
	c := fuzzCall(t, s)
	defer c.sess.Close()
	c.b.trunk = &trunk{}
	if _, err := c.sess.Offer(c.a.side, aReq.Body()); err != nil {
		t.Fatal(err)
	}
	aTx := &respondTx{}
	o := &outbound{c: c, aReq: aReq, aTx: aTx, cancelled: make(chan struct{}), bReq: c.b.newRequest(sip.INVITE)}
	if r := res.GetHeader("Require"); r != nil && containsTag(r.Value(), "100rel") {
		res.RemoveHeader("Require") // a PRACK needs a live client; its dialog state is the 2xx's
	}
	done, got, err := o.onResponse(context.Background(), res)
	defer s.dialogs.remove(c.b)
	switch {
	case !done && len(aTx.got) > 0:
		checkRelayed(t, aReq, aTx.got[0])
	case done && err == nil:
		if got != res || s.dialogs.get(c.b.callID, c.b.localTag) != c.b {
			t.Fatalf("%d taken without its dialog", res.StatusCode)
		}
		if tag, _ := res.To().Params.Get("tag"); c.b.remoteTag != tag {
			t.Fatalf("dialog remote tag %q from To tag %q", c.b.remoteTag, tag)
		}
	case done:
		if code, _ := statusOf(err); code < 300 || code == 401 || code == 407 {
			t.Fatalf("leg B's %d relayed as %d", res.StatusCode, code)
		}
	}
}

// checkRelayed: a provisional relayed to leg A is leg A's own dialog.
func checkRelayed(t *testing.T, aReq *sip.Request, out *sip.Response) {
	rr := headerValues(out, "Record-Route")
	if out.CallID().Value() != aReq.CallID().Value() || rr != "" && rr != headerValues(aReq, "Record-Route") {
		t.Fatalf("leg B's dialog leaked into leg A's provisional:\n%s", out)
	}
	if len(out.Body()) > 0 {
		checkRewritten(t, nil, out.Body())
	}
}

// checkRewritten: SDP that crossed names only the relay's address and
// carries none of the SRTP keys that came in.
func checkRewritten(t *testing.T, in, out []byte) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(out); err != nil {
		t.Fatalf("rewritten SDP does not parse: %v\n%s", err, out)
	}
	if sd.ConnectionInformation == nil || sd.ConnectionInformation.Address.Address != fuzzAdvertise {
		t.Fatalf("rewritten SDP names another address:\n%s", out)
	}
	for _, md := range sd.MediaDescriptions {
		if md.ConnectionInformation != nil {
			t.Fatalf("rewritten SDP has a media-level c= line:\n%s", out)
		}
	}
	for _, key := range inlineKeys(in) {
		if bytes.Contains(out, []byte(key)) {
			t.Fatalf("SRTP key %q crossed legs", key)
		}
	}
}

// inlineKeys returns the key material of a=crypto lines, 16 characters or more.
func inlineKeys(b []byte) []string {
	var out []string
	for _, f := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ' ' || r == '\r' || r == '\n' || r == '|' }) {
		if k, ok := strings.CutPrefix(f, "inline:"); ok && len(k) >= 16 {
			out = append(out, k)
		}
	}
	return out
}
