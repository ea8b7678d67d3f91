package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/media"
)

// sipgo's INVITE server transactions send a 100 Trying of their own when
// the handler has not answered 200 ms after the request arrived, built from
// the request the handler may be writing its To tag into at that moment.
// tonewall sends its 100 as soon as an INVITE passes admission (and none for
// one it refuses), so that timer is set beyond any transaction's life.
func init() { sip.Timer_1xx = time.Hour }

// onInvite handles a new INVITE (or a re-INVITE, which has a To tag).
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if tag, _ := req.To().Params.Get("tag"); tag != "" {
		s.onReinvite(req, tx)
		return
	}
	s.handlers.Add(1)
	defer s.handlers.Done()
	t, release, err := s.admit(req, tx)
	if err != nil {
		s.recordRefused(req, t, err)
		// Refused before any work and before a 100: one answer, not
		// retransmitted (a retransmitted INVITE is refused again as
		// cheaply), so a flood from a spoofed trunk address is not
		// reflected at the trunk.
		res := s.rejection(req, err)
		res.To().Params.Add("tag", sip.GenerateTagN(16))
		_ = tx.Respond(res)
		tx.Terminate()
		s.countCall(t, callRefused, res.StatusCode)
		return
	}
	// Our To tag goes on the request itself, before anything responds on the
	// transaction: sipgo answers a CANCEL with a 487 built from this request,
	// and that 487 must carry the tag of our 180 (RFC 3261 8.2.6.2).
	req.To().Params.Add("tag", sip.GenerateTagN(16))
	_ = tx.Respond(sip.NewResponseFromRequest(req, 100, "Trying", nil))
	c, err := s.newCall(req, t, tx, release)
	if err != nil {
		s.recordRefused(req, t, err)
		release()
		s.reject(req, tx, err)
		code, _ := statusOf(err)
		s.countCall(t, callRefused, code)
		return
	}
	c.run(req, tx)
}

// reject answers a request with the status its error maps to.
func (s *Server) reject(req *sip.Request, tx sip.ServerTransaction, err error) {
	_ = tx.Respond(s.rejection(req, err))
}

// rejection is the response err maps to.
func (s *Server) rejection(req *sip.Request, err error) *sip.Response {
	code, reason := statusOf(err)
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	var ch *challengeError
	if errors.As(err, &ch) {
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", ch.header))
	}
	if ra := s.table().limits.RetryAfter; code == 503 && ra >= time.Second {
		res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(int(ra/time.Second))))
	}
	if code == 420 {
		res.AppendHeader(sip.NewHeader("Unsupported", unsupported(req)))
	}
	s.addServerHeaders(res)
	return res
}

// admit checks an initial INVITE: hop count, drain, trunk, authentication,
// route, extensions and the call caps, whose places release gives back. It
// reads the request and changes nothing, and does no I/O. A refusal after
// the trunk is known returns the trunk with it, for the record and the
// call counts.
func (s *Server) admit(req *sip.Request, tx sip.ServerTransaction) (t *trunk, release func(), err error) {
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return nil, nil, statusErr(483, "Too Many Hops", nil)
	}
	if s.draining.Load() {
		return nil, nil, statusErr(503, "Service Unavailable", errDraining)
	}
	if t, err = s.trunkOf(req, tx); err != nil {
		return nil, nil, err
	}
	if err := s.authenticate(req, t); err != nil {
		return t, nil, err
	}
	if t.route == nil {
		return t, nil, statusErr(404, "Not Found", errNoRoute)
	}
	if unsupported(req) != "" {
		return t, nil, statusErr(420, "Bad Extension", nil)
	}
	release, refused := s.admitted.take(t, t.route.to, time.Now())
	if refused != "" {
		s.abuse.Warn("call refused by a cap", zap.String("trunk", t.cfg.Name), zap.String("reason", refused))
		return t, nil, statusErr(503, "Service Unavailable", errCapped)
	}
	return t, release, nil
}

// trunkOf matches the request to a trunk or refuses it with 403.
func (s *Server) trunkOf(req *sip.Request, tx sip.ServerTransaction) (*trunk, error) {
	l := s.listenerOf(tx, req)
	src := sourceAddr(req)
	var t *trunk
	if l != nil {
		t = matchTrunk(s.table().trunks, l, src)
	}
	if t == nil {
		s.abuse.Warn("request from no trunk refused", zap.String("method", string(req.Method)),
			zap.String("source", req.Source()), zap.String("transport", req.Transport()))
		return nil, statusErr(403, "Forbidden", errNoTrunk)
	}
	if t.cfg.MutualTLS && !peerVerified(tx, s.serverTLS.ClientCAs) {
		s.abuse.Warn("request without a verified client certificate refused", zap.String("trunk", t.cfg.Name),
			zap.String("source", req.Source()))
		return nil, statusErr(403, "Forbidden", errNoClientCert)
	}
	return t, nil
}

// peerVerified reports whether the request came over TLS with a client
// certificate that verifies against sip.tls.ca_file (or the system roots).
func peerVerified(tx sip.ServerTransaction, roots *x509.CertPool) bool {
	c, ok := connOf(tx).(interface{ ConnectionState() tls.ConnectionState })
	if !ok {
		return false
	}
	certs := c.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return false
	}
	inter := x509.NewCertPool()
	for _, ic := range certs[1:] {
		inter.AddCert(ic)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err == nil
}

// unsupported lists the option tags of Require that tonewall does not do.
// Neither 100rel nor timer is offered end to end: each leg stands alone.
func unsupported(req *sip.Request) string {
	var out []string
	for _, h := range req.GetHeaders("Require") {
		for _, tag := range strings.Split(h.Value(), ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				out = append(out, tag)
			}
		}
	}
	return strings.Join(out, ", ")
}

// newCall builds the call and leg A from an admitted INVITE.
func (s *Server) newCall(req *sip.Request, t *trunk, tx sip.ServerTransaction, release func()) (*Call, error) {
	id := newID()
	c := &Call{
		id: id, srv: s, route: t.route, created: time.Now(),
		acks: make(chan *sip.Request, 1), ended: make(chan struct{}),
		log: s.log.With(zap.String("call_id", id)), release: []func(){release},
	}
	c.a = s.uasLeg(c, req, t)
	c.b = s.uacLeg(c, req, t.route.to)
	carrier, cc := c.a, c.b
	if carrier.side != media.Carrier {
		carrier, cc = cc, carrier
	}
	sess, err := s.media.NewSession(id, carrier.trunk.policy(), cc.trunk.policy())
	if err != nil {
		return nil, err
	}
	c.sess = sess
	if sc := streamOf(tx); sc != nil {
		c.release = append(c.release, sc.hold()) // keep leg A's connection while the call lasts
	}
	return c, nil
}

// streamOf is the accepted connection a request came over, if any.
func streamOf(tx sip.ServerTransaction) *streamConn {
	sc, _ := connOf(tx).(*streamConn)
	return sc
}

// connOf is the stream connection (TCP or TLS) a request came over; nil
// for UDP.
func connOf(tx sip.ServerTransaction) net.Conn {
	stx, ok := sipgoTx(tx)
	if !ok {
		return nil
	}
	if tc, ok := stx.Connection().(*sip.TCPConnection); ok {
		return tc.Conn
	}
	return nil
}

// uasLeg is the dialog with the INVITE's sender, per RFC 3261 12.1.1.
func (s *Server) uasLeg(c *Call, req *sip.Request, t *trunk) *Leg {
	from := req.From()
	tag, _ := from.Params.Get("tag")
	l := &Leg{
		call: c, trunk: t, listener: t.listener, side: t.role(),
		callID: req.CallID().Value(), localTag: toTag(req),
		localURI: req.To().Address, remoteURI: from.Address, remoteTag: tag,
		routeSet: recordRoutes(req), cseq: uint32(time.Now().UnixNano() & 0x7fff),
	}
	if ct := req.Contact(); ct != nil {
		l.remoteTarget = ct.Address
	}
	if sip.IsReliable(req.Transport()) {
		l.flow = req.Source()
	}
	return l
}

func toTag(req *sip.Request) string {
	tag, _ := req.To().Params.Get("tag")
	return tag
}

// uacLeg is the dialog tonewall opens toward the routed trunk. The caller's
// number and the dialled number cross; hosts, tags and ids do not.
func (s *Server) uacLeg(c *Call, req *sip.Request, t *trunk) *Leg {
	adv := t.listener.advertise
	fromUser := req.From().Address.User
	return &Leg{
		call: c, trunk: t, listener: t.listener, side: t.role(),
		callID: newID() + "@tonewall", localTag: sip.GenerateTagN(16),
		localURI:  sip.Uri{Scheme: "sip", User: fromUser, Host: adv.Host},
		remoteURI: sip.Uri{Scheme: "sip", User: req.Recipient.User, Host: adv.Host},
		cseq:      1,
	}
}

// recordRoutes returns the Record-Route URIs of a message in order.
func recordRoutes(m interface{ GetHeaders(string) []sip.Header }) []sip.Uri {
	var out []sip.Uri
	for _, h := range m.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			out = append(out, rr.Address)
			continue
		}
		for _, v := range strings.Split(h.Value(), ",") {
			var u sip.Uri
			if sip.ParseUri(strings.Trim(strings.TrimSpace(v), "<>"), &u) == nil {
				out = append(out, u)
			}
		}
	}
	return out
}

func reversed(us []sip.Uri) []sip.Uri {
	out := make([]sip.Uri, len(us))
	for i, u := range us {
		out[len(us)-1-i] = u
	}
	return out
}

// run places leg B and joins it to leg A.
func (c *Call) run(req *sip.Request, tx sip.ServerTransaction) {
	s := c.srv
	s.calls.add(c)
	c.log.Info("call", zap.String("from_trunk", c.a.trunk.cfg.Name), zap.String("to_trunk", c.b.trunk.cfg.Name))
	cancelled := make(chan struct{})
	var once sync.Once
	tx.OnCancel(func(*sip.Request) { once.Do(func() { close(cancelled) }) })
	o := &outbound{c: c, aReq: req, aTx: tx, cancelled: cancelled, lateOffer: len(req.Body()) == 0}
	res, err := o.place()
	if err != nil {
		c.fail(req, tx, err)
		return
	}
	c.answer(o, res)
}

// fail ends a call that was never answered and tells leg A why.
func (c *Call) fail(req *sip.Request, tx sip.ServerTransaction, err error) {
	out := failedWith(err)
	c.mu.Lock()
	if c.answered.IsZero() {
		c.out = out
	}
	c.mu.Unlock()
	if !errors.Is(err, errCancelled) { // sipgo answers a cancelled INVITE 487 itself
		c.srv.reject(req, tx, err)
	}
	c.count(out.result, out.code)
	c.end(errString(err), nil)
}

// answer completes the call after leg B's 2xx: 2xx to leg A, then waits for
// its ACK (retransmitting on UDP) and, for a late offer, ACKs leg B with
// leg A's answer.
func (c *Call) answer(o *outbound, bRes *sip.Response) {
	// Retransmissions of B's 2xx now reach onStrayResponse, which re-ACKs.
	o.bTx.Terminate()
	sdp, err := o.sdpForA(bRes)
	if err != nil {
		c.log.Warn("leg B answer unusable", zap.Error(err))
		_ = o.ackB(nil)
		c.setState(stateConfirmed)
		c.fail(o.aReq, o.aTx, err)
		return
	}
	if !o.lateOffer {
		if err := o.ackB(nil); err != nil {
			c.log.Warn("ACK to leg B failed", zap.Error(err))
		}
	}
	c.srv.dialogs.add(c.a)
	c.setState(stateConfirmed)
	c.attachCapture()
	res := c.responseToA(o.aReq, bRes, sdp)
	c.mu.Lock()
	c.answered, c.out.code = time.Now(), res.StatusCode
	c.mu.Unlock()
	c.count(callAnswered, res.StatusCode)
	c.srv.traffic.setup.WithLabelValues(c.b.trunk.cfg.Name).Observe(time.Since(c.created).Seconds())
	ack, ok := c.awaitAck(o.aTx, res)
	if !ok {
		c.end("no ACK from leg A", nil)
		return
	}
	if o.lateOffer {
		c.ackLateOffer(o, ack)
	}
	if c.getState() == stateConfirmed {
		go c.watchMedia()
	}
}

// ackLateOffer finishes a late offer: leg A's answer arrives in its ACK and
// goes on in the ACK to leg B.
func (c *Call) ackLateOffer(o *outbound, ack *sip.Request) {
	var body []byte
	if len(ack.Body()) > 0 {
		b, err := c.sess.Answer(c.a.side, ack.Body())
		if err != nil {
			c.log.Warn("leg A answer in ACK unusable", zap.Error(err))
			_ = o.ackB(nil)
			c.end("bad SDP in ACK", nil)
			return
		}
		body = b
	}
	_ = o.ackB(body)
}

// awaitAck sends a 2xx on a server transaction and waits for the ACK,
// retransmitting the 2xx over UDP (RFC 3261 13.3.1.4: T1 doubling to T2,
// giving up after sip.ack_timeout, 64*T1 by default).
func (c *Call) awaitAck(tx sip.ServerTransaction, res *sip.Response) (*sip.Request, bool) {
	if err := tx.Respond(res); err != nil {
		return nil, false
	}
	interval, deadline := sip.T1, time.NewTimer(c.srv.cfg.SIP.AckTimeout)
	defer deadline.Stop()
	reliable := sip.IsReliable(res.Transport())
	for {
		retry := time.NewTimer(interval)
		select {
		case ack := <-c.acks:
			retry.Stop()
			return ack, true
		case <-c.ended:
			retry.Stop()
			return nil, false
		case <-deadline.C:
			retry.Stop()
			return nil, false
		case <-retry.C:
			if !reliable {
				_ = c.srv.srv.WriteResponse(res)
			}
			interval = min(interval*2, sip.T2)
		}
	}
}

// responseToA builds leg A's response from leg B's: status, the pass-listed
// headers, the rewritten SDP and tonewall's own tag and Contact.
func (c *Call) responseToA(aReq *sip.Request, bRes *sip.Response, sdp []byte) *sip.Response {
	res := sip.NewResponseFromRequest(aReq, bRes.StatusCode, bRes.Reason, nil)
	c.a.stamp(res)
	if c.a.side == media.ContactCenter { // an agent's outbound call: tell the contact center our id
		res.AppendHeader(sip.NewHeader("X-Tonewall-Call-ID", c.id))
	}
	c.srv.copyPassHeaders(bRes, res)
	if len(sdp) > 0 {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.SetBody(sdp)
	}
	return res
}

// stamp puts this leg's tag and Contact on a response tonewall sends on it.
func (l *Leg) stamp(res *sip.Response) {
	if to := res.To(); to != nil {
		to.Params.Add("tag", l.localTag)
	}
	if res.StatusCode > 100 && res.StatusCode < 300 {
		res.AppendHeader(&sip.ContactHeader{Address: l.listener.contact()})
	}
	l.call.srv.addServerHeaders(res)
}

// addUserAgent names tonewall in a request it sends, unless configured not to.
func (s *Server) addUserAgent(req *sip.Request) {
	if ua := *s.cfg.SIP.UserAgent; ua != "" {
		req.AppendHeader(sip.NewHeader("User-Agent", ua))
	}
}

func (s *Server) addServerHeaders(res *sip.Response) {
	if ua := *s.cfg.SIP.UserAgent; ua != "" {
		res.AppendHeader(sip.NewHeader("Server", ua))
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 || res.StatusCode == 405 {
		res.AppendHeader(sip.NewHeader("Allow", allowed))
	}
}

const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, PRACK"

var errCancelled = errors.New("sip: cancelled by caller")

// ctxFor is a context bounded by the call's end.
func (c *Call) ctxFor(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	go func() {
		select {
		case <-c.ended:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
