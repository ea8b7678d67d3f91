package sip

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/config"
	"github.com/tonewall/tonewall/internal/media"
	"github.com/tonewall/tonewall/internal/vault"
)

// The handlers, one request at a time: each test hands a parsed request to
// a handler behind withRecovery, as sipgo would, on a server transaction
// over a recording connection in place of a socket, and reads what the
// handler answered. What a handler sends to the other leg goes through
// sipgo's siptest client requester instead of the network.
//
// siptest's ServerTxRecorder is not used for the server side: its
// connection has no local address, and tonewall finds the listener a
// request came in on (and from it the trunk) by that address.

// handlerYAML is a carrier at 192.0.2.0/24 routed to a contact center at
// 198.51.100.0/24, which has no route of its own.
const handlerYAML = `
sip:
  listeners:
    - {name: carrier, transport: udp, address: 127.0.0.1:5060}
    - {name: contact_center, transport: udp, address: 127.0.0.1:5070}
  header_pass: [User-to-User, X-Genesys-*]
  unknown_sources: reject
  limits: {max_calls: 2, retry_after: 7s}
media: {address: 127.0.0.1, port_min: 33000, port_max: 33099}
trunks:
  - {name: carrier, role: carrier, listener: carrier, sources: [192.0.2.0/24], targets: ["sip:192.0.2.1"]}
  - {name: contact_center, role: contact_center, listener: contact_center, sources: [198.51.100.0/24],
     targets: ["sip:198.51.100.1"]}
routes:
  - {from: carrier, to: contact_center}
vault: {local: {dir: DIR}}
`

const (
	carrierSrc = "192.0.2.7:5060"
	ccSrc      = "198.51.100.7:5060"
	strangeSrc = "203.0.113.9:5060"
)

// newTestServer is the one place a test builds its Server: from YAML (DIR
// stands for a fresh directory), through New, with the listeners and
// trunks in place and ready closed, as Run leaves them, and nothing bound.
func newTestServer(t *testing.T, yaml string) *Server {
	t.Helper()
	cfg := testSections(t, yaml)
	mm, err := media.NewManager(cfg.Media, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mm.Close() })
	v, err := vault.NewLocal(cfg.Vault.Local, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	caps := capture.NewService(cfg.Capture, v, nil, nil, zap.NewNop())
	t.Cleanup(caps.Wait)
	s, err := New(cfg.Config, mm, caps, prometheus.NewRegistry(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.ua.Close() })
	for _, lc := range cfg.SIP.Listeners {
		l := &listener{cfg: lc}
		l.setAddr(net.UDPAddrFromAddrPort(netip.MustParseAddrPort(lc.Address)))
		s.listeners = append(s.listeners, l)
	}
	tbl, err := s.buildTable(&cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	s.tbl.Store(tbl)
	close(s.ready)
	return s
}

// sections is what a test's YAML holds: the server's sections and those of
// the parts it is built with.
type sections struct {
	Config  `yaml:",inline"`
	Media   media.Config   `yaml:"media"`
	Capture capture.Config `yaml:"capture"`
	Vault   vault.Config   `yaml:"vault"`
}

// testSections decodes and validates yaml (DIR stands for a fresh directory).
func testSections(t *testing.T, yaml string) sections {
	t.Helper()
	var cfg sections
	if _, err := config.Decode("test", []byte(strings.ReplaceAll(yaml, "DIR", t.TempDir())), &cfg); err != nil {
		t.Fatal(err)
	}
	for _, validate := range []func() error{cfg.Config.Validate, cfg.Media.Validate, cfg.Capture.Validate, cfg.Vault.Validate} {
		if err := validate(); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// request parses a request and stamps where it came from, as the
// transport layer does.
func request(t *testing.T, src string, lines ...string) *sip.Request {
	t.Helper()
	m, err := sip.ParseMessage([]byte(strings.Join(lines, "\r\n") + "\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	req.SetSource(src)
	req.SetTransport("UDP")
	return req
}

// fromPeer is a request from src with no To tag (out of dialog), with
// extra header lines.
func fromPeer(t *testing.T, method, src string, extra ...string) *sip.Request {
	return peerRequest(t, method, src, "handler-"+strings.ToLower(method)+"@carrier.example", "", extra...)
}

// peerRequest is a request from src on the dialog of callID and toTag
// ("": none). An extra Max-Forwards replaces the usual 70.
func peerRequest(t *testing.T, method, src, callID, toTag string, extra ...string) *sip.Request {
	to := "To: <sip:+15550199@tonewall.example>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	lines := []string{
		method + " sip:+15550199@tonewall.example SIP/2.0",
		"Via: SIP/2.0/UDP " + src + ";branch=z9hG4bK-" + strings.ToLower(method) + "-1",
		"From: <sip:+15550100@carrier.example>;tag=c1",
		to,
		"Call-ID: " + callID,
		"CSeq: 1 " + method,
		"Contact: <sip:carrier@" + src + ">",
	}
	if !slices.ContainsFunc(extra, func(h string) bool { return strings.HasPrefix(h, "Max-Forwards:") }) {
		lines = append(lines, "Max-Forwards: 70")
	}
	lines = append(append(lines, extra...), "Content-Length: 0")
	return request(t, src, lines...)
}

// recordingConn stands for the listener socket a request came in on: it
// has the listener's address and keeps what is written to it.
type recordingConn struct {
	local net.Addr
	mu    sync.Mutex
	sent  []*sip.Response
	refs  atomic.Int32
}

func (c *recordingConn) LocalAddr() net.Addr { return c.local }
func (c *recordingConn) Ref(i int) int       { return int(c.refs.Add(int32(i))) }
func (c *recordingConn) TryClose() (int, error) {
	return int(c.refs.Add(-1)), nil
}
func (c *recordingConn) Close() error { return nil }

func (c *recordingConn) WriteMsg(m sip.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m.(*sip.Response).Clone())
	return nil
}

func (c *recordingConn) responses() []*sip.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*sip.Response(nil), c.sent...)
}

// serverTx is the transaction sipgo would make for req arriving on the
// listener named on.
func serverTx(t *testing.T, s *Server, on string, req *sip.Request) (*sip.ServerTx, *recordingConn) {
	t.Helper()
	conn := &recordingConn{local: net.UDPAddrFromAddrPort(s.listenerMap()[on].addr)}
	key, err := sip.ServerTxKeyMake(req)
	if err != nil {
		t.Fatal(err)
	}
	tx := sip.NewServerTx(key, req, conn, slog.New(slog.DiscardHandler))
	if err := tx.Init(); err != nil {
		t.Fatal(err)
	}
	return tx, conn
}

// handle runs h on req, arrived on the listener named on, behind the
// server's recovery and edge checks as sipgo would, and returns every
// response sent.
func handle(t *testing.T, s *Server, on string, h sipgo.RequestHandler, req *sip.Request) []*sip.Response {
	t.Helper()
	tx, conn := serverTx(t, s, on, req)
	defer tx.Terminate()
	s.withRecovery(h)(req, tx)
	return conn.responses()
}

// only returns the one response, failing on none or more. A 100 Trying is
// left out: sipgo's INVITE transaction sends its own after 200 ms without
// an answer, which a loaded machine can reach.
func only(t *testing.T, got []*sip.Response) *sip.Response {
	t.Helper()
	var out []*sip.Response
	for _, r := range got {
		if r.StatusCode != 100 {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d responses, want 1: %v", len(out), out)
	}
	return out[0]
}

func wantStatus(t *testing.T, res *sip.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("status %d %s, want %d:\n%s", res.StatusCode, res.Reason, code, res)
	}
}

func wantHeader(t *testing.T, m headerMsg, name, value string) {
	t.Helper()
	h := m.GetHeader(name)
	if h == nil || h.Value() != value {
		t.Fatalf("%s: %v, want %q", name, h, value)
	}
}

func TestHandlerMalformedIs400(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	cseq := fromPeer(t, "OPTIONS", carrierSrc)
	cseq.CSeq().MethodName = sip.INVITE
	for name, req := range map[string]*sip.Request{
		"CSeq names another method": cseq,
		"two Content-Length values": fromPeer(t, "OPTIONS", carrierSrc, "Content-Length: 5"),
	} {
		res := only(t, handle(t, s, "carrier", s.onOptions, req))
		wantStatus(t, res, 400)
		if res.CallID().Value() != req.CallID().Value() {
			t.Errorf("%s: 400 on Call-ID %q", name, res.CallID().Value())
		}
	}
}

func TestHandlerStrangers(t *testing.T) {
	s := newTestServer(t, handlerYAML) // unknown_sources: reject
	wantStatus(t, only(t, handle(t, s, "carrier", s.onInvite, fromPeer(t, "INVITE", strangeSrc))), 403)
	// The contact center's address on the carrier's listener is a stranger there.
	wantStatus(t, only(t, handle(t, s, "carrier", s.onOptions, fromPeer(t, "OPTIONS", ccSrc))), 403)
	if got := handle(t, s, "carrier", s.onOptions, fromPeer(t, "OPTIONS", carrierSrc, "User-Agent: friendly-scanner")); len(got) != 0 {
		t.Fatalf("a scanner was answered %v", got)
	}

	// Dropped means no answer at all: not even a 100 Trying, which a SIP
	// stack sends by itself 200 ms on (RFC 3261 17.2.1).
	drop := newTestServer(t, strings.Replace(handlerYAML, "unknown_sources: reject", "unknown_sources: drop", 1))
	req := fromPeer(t, "INVITE", strangeSrc)
	tx, conn := serverTx(t, drop, "carrier", req)
	drop.withRecovery(drop.onInvite)(req, tx)
	time.Sleep(300 * time.Millisecond)
	if got := conn.responses(); len(got) != 0 {
		t.Fatalf("unknown_sources drop answered %v", got)
	}
}

func TestHandlerInviteRefusals(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	hops := fromPeer(t, "INVITE", carrierSrc, "Max-Forwards: 0")
	tests := []struct {
		name string
		on   string
		req  *sip.Request
		code int
	}{
		{"no hops left", "carrier", hops, 483},
		{"a trunk with no route", "contact_center", fromPeer(t, "INVITE", ccSrc), 404},
		{"Require of extensions", "carrier", fromPeer(t, "INVITE", carrierSrc, "Require: 100rel, timer"), 420},
	}
	for _, tt := range tests {
		res := only(t, handle(t, s, tt.on, s.onInvite, tt.req))
		wantStatus(t, res, tt.code)
		if tag, _ := res.To().Params.Get("tag"); tag == "" {
			t.Errorf("%s: %d without a To tag", tt.name, tt.code)
		}
		wantHeader(t, res, "Server", "tonewall")
		if tt.code == 420 {
			wantHeader(t, res, "Unsupported", "100rel, timer")
		}
	}

	s.draining.Store(true)
	res := only(t, handle(t, s, "carrier", s.onInvite, fromPeer(t, "INVITE", carrierSrc)))
	wantStatus(t, res, 503)
	wantHeader(t, res, "Retry-After", "7")
}

func TestHandlerInviteOverMaxCalls(t *testing.T) {
	s := newTestServer(t, handlerYAML) // max_calls: 2
	carrier, cc := s.table().trunks[0], s.table().trunks[1]
	for i := 0; i < 2; i++ {
		release, refused := s.admitted.take(carrier, cc, time.Now())
		if refused != "" {
			t.Fatalf("place %d refused: %s", i, refused)
		}
		defer release()
	}
	res := only(t, handle(t, s, "carrier", s.onInvite, fromPeer(t, "INVITE", carrierSrc)))
	wantStatus(t, res, 503)
	wantHeader(t, res, "Retry-After", "7")
	if n := s.ActiveCalls(); n != 0 {
		t.Fatalf("%d calls after a refusal", n)
	}
}

func TestHandlerOptions(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	res := only(t, handle(t, s, "carrier", s.onOptions, fromPeer(t, "OPTIONS", carrierSrc)))
	wantStatus(t, res, 200)
	wantHeader(t, res, "Accept", "application/sdp")
	wantHeader(t, res, "Allow", allowed)
	wantHeader(t, res, "Server", "tonewall")
}

func TestHandlerNoDialog(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	tests := []struct {
		method sip.RequestMethod
		h      sipgo.RequestHandler
		code   int
	}{
		{sip.BYE, s.onBye, 481},
		{sip.CANCEL, s.onStrayCancel, 481},
		{sip.INFO, s.onRelay, 481},
		{sip.UPDATE, s.onRelay, 481},
		{sip.PRACK, s.onPrack, 481},
		{sip.INVITE, s.onInvite, 481}, // a re-INVITE: it has a To tag
		{sip.REFER, s.onRefer, 405},
		{sip.REGISTER, s.onNotAllowed, 405},
		{sip.PUBLISH, s.onNotAllowed, 405},
		{"FOO", s.onUnknown, 501},
	}
	for _, tt := range tests {
		req := fromPeer(t, string(tt.method), carrierSrc)
		req.To().Params.Add("tag", "no-such-dialog")
		res := only(t, handle(t, s, "carrier", tt.h, req))
		wantStatus(t, res, tt.code)
		if tt.code == 405 {
			wantHeader(t, res, "Allow", allowed)
		}
	}
}

// peer stands for the other side of tonewall through sipgo's test hook for
// client transactions: it keeps each request tonewall sends and answers it
// with answer's response.
type peer struct {
	mu     sync.Mutex
	got    []*sip.Request
	answer func(req *sip.Request) *sip.Response
}

func newPeer(s *Server, answer func(req *sip.Request) *sip.Response) *peer {
	p := &peer{answer: answer}
	s.cli.TxRequester = &siptest.ClientTxRequesterResponder{
		OnRequest: func(req *sip.Request, w *siptest.ClientTxResponder) {
			p.mu.Lock()
			p.got = append(p.got, req.Clone())
			p.mu.Unlock()
			w.Receive(p.answer(req))
		},
	}
	return p
}

func (p *peer) requests() []*sip.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*sip.Request(nil), p.got...)
}

// answerWith answers every request with code and the extra headers.
func answerWith(code int, headers ...sip.Header) func(*sip.Request) *sip.Response {
	return func(req *sip.Request) *sip.Response {
		res := sip.NewResponseFromRequest(req, code, "", nil)
		for _, h := range headers {
			res.AppendHeader(h)
		}
		return res
	}
}

// wantOnlyPassHeaders checks that of the headers a peer added, m carries
// exactly those sip.header_pass lists (User-to-User, X-Genesys-*).
func wantOnlyPassHeaders(t *testing.T, m headerMsg) {
	t.Helper()
	wantHeader(t, m, "User-to-User", "00AB12;encoding=hex")
	wantHeader(t, m, "X-Genesys-Queue", "cards")
	for _, name := range []string{"X-Carrier-Internal", "X-CC-Internal"} {
		if h := m.GetHeader(name); h != nil {
			t.Errorf("%s crossed to the other leg: %s", name, h.Value())
		}
	}
}

var peerHeaders = []string{"User-to-User: 00AB12;encoding=hex", "X-Genesys-Queue: cards", "X-Carrier-Internal: 10.0.0.7"}

func TestHandlerInviteRelaysTheFailureWithPassHeadersOnly(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	cc := newPeer(s, answerWith(486))
	req := fromPeer(t, "INVITE", carrierSrc, peerHeaders...)
	res := only(t, handle(t, s, "carrier", s.onInvite, req))
	wantStatus(t, res, 486)

	sent := cc.requests()
	if len(sent) != 1 || sent[0].Method != sip.INVITE {
		t.Fatalf("toward the contact center: %v", sent)
	}
	out := sent[0]
	wantOnlyPassHeaders(t, out)
	if out.CallID().Value() == req.CallID().Value() || out.Recipient.Host != "198.51.100.1" {
		t.Errorf("the carrier's dialog reached the contact center:\n%s", out)
	}
	if n := s.ActiveCalls(); n != 0 {
		t.Errorf("%d calls after the contact center refused", n)
	}
}

// noTransport fails every request as a connection that cannot be made does.
type noTransport struct{}

func (noTransport) Request(context.Context, *sip.Request) (sip.ClientTransaction, error) {
	return nil, errors.New("dial tcp 198.51.100.1:5060: connect: connection refused")
}

func TestHandlerInviteTargetUnreachableIs503(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	s.cli.TxRequester = noTransport{}
	res := only(t, handle(t, s, "carrier", s.onInvite, fromPeer(t, "INVITE", carrierSrc)))
	wantStatus(t, res, 503)
	wantHeader(t, res, "Retry-After", "7")
}

// confirmedCall is a call in both dialog tables, as one is once answered:
// the carrier's leg a (Call-ID carrier-call, tonewall's tag tag-a) and the
// contact center's leg b (cc-call@tonewall, tag-b), with the contact center
// answering what crosses to it with answer.
func confirmedCall(t *testing.T, s *Server, answer func(*sip.Request) *sip.Response) (*Call, *peer) {
	c := fuzzCall(t, s)
	c.a.trunk, c.b.trunk = s.table().trunks[0], s.table().trunks[1]
	c.setState(stateConfirmed)
	s.calls.add(c)
	s.dialogs.add(c.a)
	s.dialogs.add(c.b)
	cc := newPeer(s, answer)
	t.Cleanup(func() { c.end("test over", nil) })
	return c, cc
}

// inDialog is a request from the carrier on leg a of a confirmedCall.
func inDialog(t *testing.T, method string, extra ...string) *sip.Request {
	return peerRequest(t, method, carrierSrc, "carrier-call", "tag-a", extra...)
}

func TestHandlerInfoCrossesWithPassHeadersOnly(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	_, cc := confirmedCall(t, s, answerWith(200, sip.NewHeader("X-Genesys-Result", "ok"), sip.NewHeader("X-CC-Internal", "q7")))
	res := only(t, handle(t, s, "carrier", s.onRelay, inDialog(t, "INFO", peerHeaders...)))
	wantStatus(t, res, 200)
	wantHeader(t, res, "X-Genesys-Result", "ok")
	if h := res.GetHeader("X-CC-Internal"); h != nil {
		t.Errorf("X-CC-Internal crossed to the carrier: %s", h.Value())
	}
	if res.CallID().Value() != "carrier-call" {
		t.Errorf("the carrier's 200 on Call-ID %q", res.CallID().Value())
	}

	sent := cc.requests()
	if len(sent) != 1 || sent[0].Method != sip.INFO {
		t.Fatalf("toward the contact center: %v", sent)
	}
	wantOnlyPassHeaders(t, sent[0])
	if tag, _ := sent[0].From().Params.Get("tag"); sent[0].CallID().Value() != "cc-call@tonewall" || tag != "tag-b" {
		t.Errorf("INFO not on the contact center's dialog:\n%s", sent[0])
	}
}

func TestHandlerInfoToAGoneLegIs408AndEndsTheCall(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	confirmedCall(t, s, answerWith(481))
	wantStatus(t, only(t, handle(t, s, "carrier", s.onRelay, inDialog(t, "INFO"))), 408)
	if s.ActiveCalls() != 0 || s.Dialogs() != 0 {
		t.Fatalf("after 481 from the other leg: %d calls, %d dialogs", s.ActiveCalls(), s.Dialogs())
	}
}

func TestHandlerByeEndsBothLegs(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	_, cc := confirmedCall(t, s, answerWith(200))
	wantStatus(t, only(t, handle(t, s, "carrier", s.onBye, inDialog(t, "BYE"))), 200)
	sent := cc.requests()
	if len(sent) != 1 || sent[0].Method != sip.BYE || sent[0].CallID().Value() != "cc-call@tonewall" {
		t.Fatalf("toward the contact center: %v", sent)
	}
	if s.ActiveCalls() != 0 || s.Dialogs() != 0 {
		t.Fatalf("after BYE: %d calls, %d dialogs", s.ActiveCalls(), s.Dialogs())
	}
	// The dialog is gone: a retransmitted BYE's new transaction finds none.
	wantStatus(t, only(t, handle(t, s, "carrier", s.onBye, inDialog(t, "BYE"))), 481)
}

// startCapture attaches a capture point to c, as attachCapture does, and
// opens a window for a card number.
func startCapture(t *testing.T, s *Server, c *Call) *capture.Window {
	t.Helper()
	ctrl, err := s.captures.Attach(c.id, capture.Point{Policy: "api"})
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.ctrl = ctrl
	c.mu.Unlock()
	capt, err := s.captures.Start(c.id, capture.Request{Fields: []string{"pan"}, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return capt
}

func waitDone(t *testing.T, capt *capture.Window) {
	t.Helper()
	select {
	case <-capt.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the capture did not end")
	}
}

// dtmfInfo is an INFO from the carrier keying 4 (RFC 2976, dtmf-relay).
func dtmfInfo(t *testing.T) *sip.Request {
	req := inDialog(t, "INFO", "Content-Type: application/dtmf-relay")
	req.SetBody([]byte("Signal=4\r\nDuration=160\r\n"))
	return req
}

// A key sent as SIP INFO inside a capture window is answered 200 and taken
// by the capture; the contact center never sees it. Outside a window the
// same INFO crosses.
func TestHandlerInfoDTMFInsideAWindowIsNotRelayed(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	c, cc := confirmedCall(t, s, answerWith(200))
	capt := startCapture(t, s, c)
	wantStatus(t, only(t, handle(t, s, "carrier", s.onRelay, dtmfInfo(t))), 200)
	if sent := cc.requests(); len(sent) != 0 {
		t.Fatalf("a key inside the window reached the contact center: %v", sent)
	}
	deadline := time.Now().Add(5 * time.Second)
	for capt.Status().Digits != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the capture holds %d digits, want 1", capt.Status().Digits)
		}
		time.Sleep(10 * time.Millisecond)
	}

	capt.Cancel()
	waitDone(t, capt)
	wantStatus(t, only(t, handle(t, s, "carrier", s.onRelay, dtmfInfo(t))), 200)
	if sent := cc.requests(); len(sent) != 1 || string(sent[0].Body()) != "Signal=4\r\nDuration=160\r\n" {
		t.Fatalf("outside the window, toward the contact center: %v", sent)
	}
}

// A message toward the contact center on a call that has had a capture is
// not sent when a relayed header holds a card number: the carrier gets a
// 500, the contact center nothing, and the capture fails closed.
func TestHandlerEgressBlocksACardTowardTheContactCenter(t *testing.T) {
	s := newTestServer(t, handlerYAML)
	c, cc := confirmedCall(t, s, answerWith(200))
	capt := startCapture(t, s, c)

	wantStatus(t, only(t, handle(t, s, "carrier", s.onRelay, inDialog(t, "INFO", "X-Genesys-Note: 4111111111111111"))), 500)
	if sent := cc.requests(); len(sent) != 0 {
		t.Fatalf("sent toward the contact center: %v", sent)
	}
	waitDone(t, capt)
	if st := capt.Status(); st.State != "failed" || st.Reason != capture.ReasonEgressBlocked {
		t.Errorf("capture %s (%s), want failed (egress_blocked)", st.State, st.Reason)
	}
	if n := value(t, s.metrics.egressBlocked); n != 1 {
		t.Errorf("egress blocked counted %v times", n)
	}

	// The same INFO with a token-length number that fails Luhn crosses.
	wantStatus(t, only(t, handle(t, s, "carrier", s.onRelay, inDialog(t, "INFO", "X-Genesys-Note: 4111111111111112"))), 200)
	if sent := cc.requests(); len(sent) != 1 {
		t.Fatalf("toward the contact center: %v", sent)
	}
}
