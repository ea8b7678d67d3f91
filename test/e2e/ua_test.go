package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/tonewall/tonewall/internal/sbctest"
)

// agent is a SIP user agent on sipgo, standing for a carrier or a contact
// center. It records every request it receives.
type agent struct {
	t             *testing.T
	tp            string
	ua            *sipgo.UserAgent
	srv           *sipgo.Server
	cli           *sipgo.Client
	addr          string
	close         func()
	dc            *sipgo.DialogClientCache
	ds            *sipgo.DialogServerCache
	rtp           *net.UDPConn // where this agent's SDP says its media goes
	plan          func(req *sip.Request) plan
	mu            sync.Mutex
	reqs          []*sip.Request
	calls         chan *sipgo.DialogServerSession
	byes          chan *sip.Request
	invites       chan *sip.Request
	cancels       chan struct{} // an INVITE of ours was cancelled (sipgo answers the CANCEL itself)
	shutdown      func()
	closed        atomic.Bool   // set by shutdown: handlers still running expect errors
	stopped       chan struct{} // closed by shutdown
	unmatchedByes atomic.Int32  // BYEs that matched no dialog of ours
	responses     []int         // status codes of responses to our INVITEs, in order
	forgetful     atomic.Bool   // answer in-dialog requests 481, as after a restart
	tags          []string      // To tags of responses to our INVITEs, in order

	sentInvite         *sip.Request  // our last INVITE, as sent
	lastInviteResponse *sip.Response // the final response to it
}

// toTags returns the To tags of the responses to our INVITEs.
func (a *agent) toTags() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.tags...)
}

// forgetDialogs makes the agent behave as if it had restarted.
func (a *agent) forgetDialogs() { a.forgetful.Store(true) }

// gotStatus reports whether a response with this code arrived for our INVITEs.
func (a *agent) gotStatus(code int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.responses {
		if c == code {
			return true
		}
	}
	return false
}

// plan says how an agent answers an INVITE.
type plan struct {
	code      int    // final status; 0 = 200
	ring      bool   // send 180 first
	noSDP     bool   // answer 200 without SDP (only valid if the INVITE had an offer)
	challenge string // username:password to demand with a 401 first
	delay     time.Duration
	reliable  bool // send 183 with SDP reliably (Require: 100rel) and wait for its PRACK
}

func newAgent(t *testing.T, tp string) *agent {
	t.Helper()
	return newAgentTLS(t, tp, &tls.Config{InsecureSkipVerify: true})
}

// newAgentTLS is newAgent with the TLS client configuration it dials with
// (a client certificate for mutual TLS, say).
func newAgentTLS(t *testing.T, tp string, clientTLS *tls.Config) *agent {
	t.Helper()
	a := &agent{t: t, tp: tp, calls: make(chan *sipgo.DialogServerSession, 512),
		byes: make(chan *sip.Request, 512), invites: make(chan *sip.Request, 512),
		cancels: make(chan struct{}, 512), stopped: make(chan struct{})}
	// A moment of ringing: sipgo handles each datagram in its own goroutine, so
	// a 200 hard on the heels of a 180 can overtake it.
	a.plan = func(*sip.Request) plan { return plan{ring: true, delay: 30 * time.Millisecond} }
	var err error
	a.ua, err = sipgo.NewUA(sipgo.WithUserAgent("e2e-"+tp), sipgo.WithUserAgenTLSConfig(clientTLS))
	must(t, err)
	a.srv, err = sipgo.NewServer(a.ua)
	must(t, err)
	serve := a.listen()
	a.cli, err = sipgo.NewClient(a.ua, clientOpts(tp, a.addr)...)
	must(t, err)
	host, port := splitHostPort(t, a.addr)
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "agent", Host: host, Port: port}}
	if tp != "udp" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", tp)
	}
	a.dc = sipgo.NewDialogClientCache(a.cli, contact)
	a.ds = sipgo.NewDialogServerCache(a.cli, contact)
	a.rtp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	a.handlers()
	serve() // after every field is set: the serving goroutine reads them
	var once sync.Once
	a.shutdown = func() {
		once.Do(func() {
			a.closed.Store(true)
			close(a.stopped)
			a.close()
			_ = a.ua.Close()
			_ = a.rtp.Close()
		})
	}
	t.Cleanup(a.shutdown)
	return a
}

func clientOpts(tp, addr string) []sipgo.ClientOption {
	if tp == "udp" {
		return []sipgo.ClientOption{sipgo.WithClientConnectionAddr(addr)}
	}
	h, p, _ := net.SplitHostPort(addr)
	_ = p
	return []sipgo.ClientOption{sipgo.WithClientHostname(h)}
}

// listen binds the agent's socket and returns the function that starts
// serving it.
func (a *agent) listen() (serve func()) {
	switch a.tp {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		must(a.t, err)
		_ = c.(*net.UDPConn).SetReadBuffer(4 << 20)
		a.addr = c.LocalAddr().String()
		a.close = func() { _ = c.Close() }
		return func() { go func() { _ = a.srv.ServeUDP(c) }() }
	default:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(a.t, err)
		a.addr = ln.Addr().String()
		a.close = func() { _ = ln.Close() }
		if a.tp == "tls" {
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{sbctest.ServerCert(a.t)}, MinVersion: tls.VersionTLS12})
			return func() { go func() { _ = a.srv.ServeTLS(ln) }() }
		}
		return func() { go func() { _ = a.srv.ServeTCP(ln) }() }
	}
}

func (a *agent) record(req *sip.Request) {
	a.mu.Lock()
	a.reqs = append(a.reqs, req)
	a.mu.Unlock()
}

// received returns the requests of one method this agent got.
func (a *agent) received(m sip.RequestMethod) []*sip.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*sip.Request
	for _, r := range a.reqs {
		if r.Method == m {
			out = append(out, r)
		}
	}
	return out
}

func (a *agent) handlers() {
	a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		a.record(req)
		if tag, _ := req.To().Params.Get("tag"); tag != "" {
			a.reinvite(req, tx)
			return
		}
		a.invites <- req
		a.answer(req, tx)
	})
	a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		a.record(req)
		_ = a.ds.ReadAck(req, tx)
	})
	a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		a.record(req)
		a.byes <- req
		if err := a.ds.ReadBye(req, tx); err == nil {
			return
		}
		if err := a.dc.ReadBye(req, tx); err != nil {
			a.unmatchedByes.Add(1)
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
		}
	})
	for _, m := range []sip.RequestMethod{sip.INFO, sip.UPDATE, sip.OPTIONS, sip.CANCEL, sip.PRACK} {
		a.srv.OnRequest(m, func(req *sip.Request, tx sip.ServerTransaction) {
			a.record(req)
			if a.forgetful.Load() {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				return
			}
			res := sip.NewResponseFromRequest(req, 200, "OK", nil)
			if req.Method == sip.UPDATE && len(req.Body()) > 0 {
				res.SetBody(a.sdp())
				res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			}
			_ = tx.Respond(res)
		})
	}
}

// answer plays the agent's plan for an initial INVITE.
func (a *agent) answer(req *sip.Request, tx sip.ServerTransaction) {
	a.mu.Lock()
	planFor := a.plan
	a.mu.Unlock()
	p := planFor(req)
	tx.OnCancel(func(*sip.Request) { a.cancels <- struct{}{} })
	if p.challenge != "" && !a.authorized(req, p.challenge) {
		res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		ch := digest.Challenge{Realm: "cc", Nonce: strconv.FormatInt(time.Now().UnixNano(), 16), Algorithm: "MD5"}
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", ch.String()))
		_ = tx.Respond(res)
		return
	}
	dlg, err := a.ds.ReadInvite(req, tx)
	if err != nil {
		a.t.Errorf("ReadInvite: %v", err)
		return
	}
	defer dlg.Close()
	if p.ring {
		_ = dlg.Respond(180, "Ringing", nil)
	}
	if p.reliable {
		_ = dlg.Respond(183, "Session Progress", a.sdp(), sip.NewHeader("Content-Type", "application/sdp"),
			sip.NewHeader("Require", "100rel"), sip.NewHeader("RSeq", "1"))
		deadline := time.Now().Add(3 * time.Second)
		for len(a.received(sip.PRACK)) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(p.delay)
	if p.code != 0 && p.code != 200 {
		_ = dlg.Respond(p.code, "Busy Here", nil)
		return
	}
	body := a.sdp()
	if p.noSDP {
		body = nil
	}
	if err := dlg.Respond(200, "OK", body, sip.NewHeader("Content-Type", "application/sdp"),
		sip.NewHeader("X-CC-Internal", "agent-desk-7")); err != nil {
		// sipgo's dialog can miss an ACK that overtakes its wait; what
		// matters here is that tonewall sent one.
		if !errors.Is(err, sip.ErrTransactionCanceled) && !a.closed.Load() && !a.gotACK(req.CallID().Value()) {
			a.t.Errorf("respond 200: %v", err)
		}
		return
	}
	a.calls <- dlg
	select { // until BYE, or until the agent shuts down
	case <-dlg.Context().Done():
	case <-a.stopped:
	}
}

// deadTarget is a UDP address where a socket is bound but nothing answers.
func deadTarget(t *testing.T) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c.LocalAddr().String()
}

// setPlan changes how the agent answers INVITEs.
func (a *agent) setPlan(f func(*sip.Request) plan) {
	a.mu.Lock()
	a.plan = f
	a.mu.Unlock()
}

// gotACK reports whether an ACK for the Call-ID arrived, allowing a second
// for its handler goroutine (sipgo runs each message in its own) to record it.
func (a *agent) gotACK(callID string) bool {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, r := range a.received(sip.ACK) {
			if r.CallID().Value() == callID {
				return true
			}
		}
	}
	return false
}

// nextCall waits for the agent to answer a call.
func (a *agent) nextCall(t *testing.T) *sipgo.DialogServerSession {
	t.Helper()
	select {
	case d := <-a.calls:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no call reached the agent")
		return nil
	}
}

// authorized checks a digest Authorization against user:pass.
func (a *agent) authorized(req *sip.Request, userpass string) bool {
	h := req.GetHeader("Authorization")
	if h == nil {
		return false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return false
	}
	user, pass := splitUserPass(userpass)
	want, err := digest.Digest(&digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: "MD5"},
		digest.Options{Method: "INVITE", URI: cred.URI, Username: user, Password: pass})
	return err == nil && cred.Username == user && want.Response == cred.Response
}

// reinvite answers a re-INVITE with 200 and this agent's SDP.
func (a *agent) reinvite(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, 200, "OK", a.sdp())
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: mustPort(a.addr)}})
	_ = tx.Respond(res)
	select {
	case <-tx.Acks():
	case <-tx.Done():
	case <-time.After(2 * time.Second):
	}
}

// sdp is this agent's offer or answer: G.711 and telephone-event on its RTP socket.
func (a *agent) sdp() []byte {
	return sdpFor(a.rtp.LocalAddr().(*net.UDPAddr).Port, "sendrecv")
}

func sdpFor(port int, dir string) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=%s\r\n", port, dir))
}

// call places a call to tonewall's listener and waits for the answer.
func (a *agent) call(ctx context.Context, to string, body []byte, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	return a.callAuth(ctx, to, body, sipgo.AnswerOptions{}, hdrs...)
}

// callAuth is call with digest credentials for a challenge.
func (a *agent) callAuth(ctx context.Context, to string, body []byte, opts sipgo.AnswerOptions, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	host, port := splitHostPort(a.t, to)
	u := sip.Uri{Scheme: "sip", User: "5551000", Host: host, Port: port}
	if a.tp != "udp" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", a.tp)
	}
	hdrs = append(hdrs, sip.NewHeader("Content-Type", "application/sdp"))
	sess, err := a.dc.Invite(ctx, u, body, hdrs...)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.sentInvite = sess.InviteRequest
	a.mu.Unlock()
	if opts.OnResponse == nil {
		opts.OnResponse = func(res *sip.Response) error {
			a.mu.Lock()
			a.responses = append(a.responses, res.StatusCode)
			if tag, _ := res.To().Params.Get("tag"); tag != "" {
				a.tags = append(a.tags, tag)
			}
			a.mu.Unlock()
			return nil
		}
	}
	if err := sess.WaitAnswer(ctx, opts); err != nil {
		if r := sess.InviteResponse; r != nil && r.IsSuccess() {
			// A 2xx crossed our CANCEL: the call is up, and a caller that
			// no longer wants it ACKs and BYEs it (RFC 3261 9.1, 15).
			// sipgo's UAC leaves that to us.
			hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = sess.Ack(hctx)
			_ = sess.Bye(hctx)
			cancel()
		}
		sess.Close()
		return nil, err
	}
	a.mu.Lock()
	a.lastInviteResponse = sess.InviteResponse
	a.mu.Unlock()
	// Answered: the ACK must go out even if ctx ends now (a caller whose
	// CANCEL lost the race to the 200 still owes it, RFC 3261 9.1).
	actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sess.Ack(actx); err != nil {
		sess.Close()
		return nil, err
	}
	return sess, nil
}

func splitHostPort(t *testing.T, hp string) (string, int) {
	h, p, err := net.SplitHostPort(hp)
	must(t, err)
	n, err := strconv.Atoi(p)
	must(t, err)
	return h, n
}

func mustPort(hp string) int {
	_, p, _ := net.SplitHostPort(hp)
	n, _ := strconv.Atoi(p)
	return n
}

func splitUserPass(s string) (string, string) {
	for i := range s {
		if s[i] == ':' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
