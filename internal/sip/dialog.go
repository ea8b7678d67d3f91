package sip

import (
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/media"
)

// legOf finds the dialog an in-dialog request belongs to and checks that it
// came from that leg's trunk.
func (s *Server) legOf(req *sip.Request) *Leg {
	tag, _ := req.To().Params.Get("tag")
	if tag == "" || req.CallID() == nil {
		return nil
	}
	l := s.dialogs.get(req.CallID().Value(), tag)
	if l == nil || !l.trunk.allows(sourceAddr(req)) {
		return nil
	}
	return l
}

func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	s.addServerHeaders(res)
	_ = tx.Respond(res)
}

// onAck takes the ACK for a 2xx tonewall sent on leg A.
func (s *Server) onAck(req *sip.Request, _ sip.ServerTransaction) {
	l := s.legOf(req)
	if l == nil || l != l.call.a && l != l.call.b {
		return
	}
	select {
	case l.call.acks <- req:
	default: // a retransmitted ACK: the first one was taken
	}
}

// onBye ends the call: 200 on this leg, BYE on the other.
func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	l := s.legOf(req)
	if l == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	s.respond(req, tx, 200, "OK")
	l.call.end("BYE from "+l.side.String(), l)
}

// onStrayCancel answers a CANCEL that matched no INVITE transaction.
func (s *Server) onStrayCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

// onOptions answers locally: keepalives from trunks, in or out of a dialog.
// Out of a dialog while draining it is 503, so that a peer's dispatcher
// probing tonewall takes it out of its rotation; a call being drained
// still gets 200 to its keepalives.
func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if s.legOf(req) == nil {
		if _, err := s.trunkOf(req, tx); err != nil {
			s.reject(req, tx, err)
			return
		}
		if s.draining.Load() {
			s.reject(req, tx, statusErr(503, "Service Unavailable", errDraining))
			return
		}
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	s.addServerHeaders(res)
	_ = tx.Respond(res)
}

// onPrack: tonewall never sends reliable provisionals, so no PRACK matches.
func (s *Server) onPrack(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

func (s *Server) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 405, "Transfer Not Supported")
}

func (s *Server) onNotAllowed(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 405, "Method Not Allowed")
}

func (s *Server) onUnknown(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() || tx == nil {
		return
	}
	s.respond(req, tx, 501, "Not Implemented")
}

// onRelay carries INFO and UPDATE to the other leg and its answer back.
func (s *Server) onRelay(req *sip.Request, tx sip.ServerTransaction) {
	l := s.legOf(req)
	if l == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	l.refresh(req)
	if l.call.consumeInfo(l, req) {
		s.respond(req, tx, 200, "OK") // DTMF inside a capture window: never relayed
		return
	}
	if x, ok := s.cross(l, req, tx); ok {
		_ = tx.Respond(x.c.crossResponse(l, x.peer, req, x.res, x.offered))
	}
}

// crossed is an in-dialog request carried to the other leg, and its answer.
type crossed struct {
	c       *Call
	peer    *Leg
	out     *sip.Request
	res     *sip.Response
	offered bool
}

// cross sends the other leg's copy of an in-dialog request and waits for
// its final response. When the other leg is gone (no answer, 481, 408) the
// request is answered 408 and the call ends; ok is false whenever cross
// has answered the request itself.
func (s *Server) cross(l *Leg, req *sip.Request, tx sip.ServerTransaction) (crossed, bool) {
	c, peer := l.call, l.call.other(l)
	out, offered, err := c.crossRequest(l, peer, req)
	if err != nil {
		s.reject(req, tx, err)
		return crossed{}, false
	}
	ctx, cancel := c.ctxFor(32 * time.Second)
	defer cancel()
	res, err := peer.send(ctx, out)
	if err != nil || peerGone(res) {
		c.rollback(offered)
		s.respond(req, tx, 408, "Request Timeout")
		c.end("other leg gone", nil)
		return crossed{}, false
	}
	return crossed{c: c, peer: peer, out: out, res: res, offered: offered}, true
}

// peerGone reports a response that ends the dialog it was sent on
// (RFC 5057: 481, and 408 for lack of any response).
func peerGone(res *sip.Response) bool {
	return res.StatusCode == 481 || res.StatusCode == 408
}

// consumeInfo gives a carrier INFO to the capture point, which takes DTMF
// inside a window.
func (c *Call) consumeInfo(from *Leg, req *sip.Request) bool {
	ctrl := c.controller()
	if ctrl == nil || from.side != media.Carrier || req.Method != sip.INFO || req.ContentType() == nil {
		return false
	}
	return ctrl.OnInfo(req.ContentType().Value(), req.Body())
}

// crossRequest builds the other leg's copy of an in-dialog request, with the
// SDP offer rewritten when there is one.
func (c *Call) crossRequest(from, to *Leg, req *sip.Request) (*sip.Request, bool, error) {
	out := to.newRequest(req.Method)
	c.srv.copyPassHeaders(req, out)
	c.srv.addUserAgent(out)
	body, ct := req.Body(), req.ContentType()
	if len(body) == 0 || ct == nil {
		if c.blocksEgress(to, out, nil, nil, string(req.Method)) {
			return nil, false, statusErr(500, "Server Internal Error", errEgress)
		}
		return out, false, nil
	}
	offered := false
	if isSDP(ct) && (req.Method == sip.INVITE || req.Method == sip.UPDATE) {
		b, err := c.sess.Offer(from.side, body)
		if err != nil {
			return nil, false, err
		}
		body, offered = b, true
	}
	out.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
	out.SetBody(body)
	if c.blocksEgress(to, out, body, ct, string(req.Method)) {
		c.rollback(offered)
		return nil, false, statusErr(500, "Server Internal Error", errEgress)
	}
	return out, offered, nil
}

// crossResponse builds the response for the leg that sent the request from
// the other leg's response, with the SDP answer rewritten.
func (c *Call) crossResponse(from, to *Leg, req *sip.Request, res *sip.Response, offered bool) *sip.Response {
	out := sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, nil)
	from.stamp(out)
	c.srv.copyPassHeaders(res, out)
	if !res.IsSuccess() {
		c.rollback(offered)
		if res.StatusCode == 401 || res.StatusCode == 407 {
			out.StatusCode, out.Reason = 500, "Server Internal Error"
		}
		return out
	}
	if offered && len(res.Body()) > 0 {
		b, err := c.sess.Answer(to.side, res.Body())
		if err != nil {
			c.log.Warn("SDP answer unusable", zap.Error(err))
			return out
		}
		out.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		out.SetBody(b)
	} else if ct := res.ContentType(); ct != nil && len(res.Body()) > 0 && !isSDP(ct) {
		out.AppendHeader(sip.NewHeader("Content-Type", ct.Value()))
		out.SetBody(res.Body())
	}
	if c.blocksEgress(from, out, out.Body(), out.ContentType(), "response") {
		c.rollback(offered)
		blocked := sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
		from.stamp(blocked)
		return blocked
	}
	return out
}

func (c *Call) rollback(offered bool) {
	if offered {
		c.sess.Rollback()
	}
}

func isSDP(ct *sip.ContentTypeHeader) bool {
	return ct != nil && len(ct.Value()) >= 15 && ct.Value()[:15] == "application/sdp"
}

// refresh applies a target refresh (RFC 3261 12.2.2): a new Contact.
func (l *Leg) refresh(req *sip.Request) {
	if req.Method == sip.INVITE || req.Method == sip.UPDATE {
		l.setRemoteTarget(req.Contact())
	}
}

// onReinvite relays a re-INVITE (hold, resume, new SDP) to the other leg.
func (s *Server) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	l := s.legOf(req)
	if l == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 100, "Trying", nil))
	l.refresh(req)
	if x, ok := s.cross(l, req, tx); ok {
		x.c.finishReinvite(l, x.peer, req, tx, x.out, x.res, x.offered)
	}
}

// finishReinvite ACKs the peer's 2xx (carrying the answer when the
// re-INVITE had no offer) and relays the outcome.
func (c *Call) finishReinvite(l, peer *Leg, req *sip.Request, tx sip.ServerTransaction, out *sip.Request, res *sip.Response, offered bool) {
	if !res.IsSuccess() {
		_ = tx.Respond(c.crossResponse(l, peer, req, res, offered))
		return
	}
	late := !offered && len(res.Body()) > 0
	back := c.crossResponse(l, peer, req, res, offered)
	if late {
		b, err := c.sess.Offer(peer.side, res.Body())
		if err == nil {
			back.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			back.SetBody(b)
		}
	} else {
		_ = peer.ack(out, nil)
	}
	if l != c.a && l != c.b {
		return
	}
	ack, ok := c.awaitAck(tx, back)
	if late {
		var body []byte
		if ok && len(ack.Body()) > 0 {
			body, _ = c.sess.Answer(l.side, ack.Body())
		}
		_ = peer.ack(out, body)
	}
	if !ok {
		c.end("no ACK for re-INVITE", nil)
	}
}

// ack sends the ACK for a 2xx to an INVITE this leg sent.
func (l *Leg) ack(inv *sip.Request, body []byte) error {
	req := l.newRequest(sip.ACK)
	req.CSeq().SeqNo = inv.CSeq().SeqNo
	if len(body) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
	}
	if err := l.call.srv.cli.WriteRequest(req, l.addVia); err != nil {
		return err
	}
	l.call.srv.traffic.request(string(sip.ACK), dirOut)
	l.mu.Lock()
	l.sentAck = req
	l.mu.Unlock()
	return nil
}
