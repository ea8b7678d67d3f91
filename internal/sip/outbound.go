package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/media"
)

// outbound is the attempt to reach leg B for one call: targets in priority
// order, failover, CANCEL, early media.
type outbound struct {
	c         *Call
	aReq      *sip.Request
	aTx       sip.ServerTransaction
	cancelled chan struct{}
	lateOffer bool

	offer      []byte       // SDP offer for leg B (nil for a late offer)
	bReq       *sip.Request // the INVITE in flight to leg B
	bTx        sip.ClientTransaction
	lastCode   int  // the last status leg B sent on this attempt; 0: none yet (see heard)
	early      bool // a provisional with a To tag arrived
	cancelSent bool
	authed     bool
}

// place tries each target until one answers 2xx, the caller cancels, or a
// final failure that failover does not cover. A target its pings took down
// is skipped while another is up; when every one is down they are all
// tried in order, as pings can lag a recovery, and refusing a call
// outright would turn a blind spot of the pings into an outage.
func (o *outbound) place() (*sip.Response, error) {
	if !o.lateOffer {
		sdp, err := o.c.sess.Offer(o.c.a.side, o.aReq.Body())
		if err != nil {
			return nil, refusal{err}
		}
		o.offer = sdp
	}
	var lastErr error = errAllTargets
	t, h := o.c.b.trunk, o.c.srv.health
	skipDown := h.anyUp(t)
	for i, target := range t.targets {
		if skipDown && !h.up(t.cfg.Name, t.cfg.Targets[i]) {
			o.c.log.Debug("target down, skipped", zap.Int("target", i))
			continue
		}
		res, err := o.try(target)
		o.observe(i, err)
		if err == nil {
			return res, nil
		}
		if !failover(err) {
			return nil, err
		}
		o.c.log.Warn("target failed, trying the next", zap.Int("target", i), zap.Error(err))
		lastErr = err
	}
	// A target's own answer (408, 503) is relayed; a failure to reach any
	// (code 0: no status of its own) is a 503 of tonewall's.
	var se *StatusError
	if errors.As(lastErr, &se) && se.Code != 0 {
		return nil, lastErr
	}
	return nil, statusErr(503, "Service Unavailable", lastErr)
}

// failover reports whether an attempt's failure lets the next target be tried.
func failover(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code == 408 || se.Code == 503 || se.Code == 0
	}
	return !errors.Is(err, errCancelled)
}

// observe tells the trunk's health what the attempt on target i showed:
// the last status it sent, or that it sent none (a timeout) or could not be
// reached (transport). An attempt cancelled before any answer shows nothing.
func (o *outbound) observe(i int, err error) {
	r := pingResult{at: time.Now(), code: o.lastCode}
	switch {
	case o.lastCode != 0:
	case errors.Is(err, errCancelled):
		return
	case o.bTx == nil:
		r.err = pingTransport
	default:
		r.err = pingTimeout
	}
	o.c.srv.health.observe(o.c.b.trunk, i, r)
}

// try sends the INVITE to one target and waits for its outcome.
func (o *outbound) try(target sip.Uri) (*sip.Response, error) {
	o.bReq, o.bTx, o.lastCode = o.buildInvite(target), nil, 0
	o.early, o.cancelSent, o.authed = false, false, false
	ctx, cancel := o.c.ctxFor(o.c.srv.cfg.SIP.RingTimeout + o.c.srv.cfg.SIP.InviteTimeout)
	defer cancel()
	tx, err := o.c.srv.cli.TransactionRequest(ctx, o.bReq, o.c.b.addVia)
	if err != nil {
		return nil, statusErr(0, "transport", err)
	}
	o.c.srv.traffic.request(string(sip.INVITE), dirOut)
	o.bTx = tx
	return o.wait(ctx)
}

// wait follows the client transaction: provisional relay, auth retry,
// the target timer (no response at all), the ring timer and CANCEL.
func (o *outbound) wait(ctx context.Context) (*sip.Response, error) {
	cfg := o.c.srv.cfg.SIP
	noAnswer := time.NewTimer(cfg.InviteTimeout)
	defer noAnswer.Stop()
	var ring <-chan time.Time
	for {
		select {
		case res := <-o.bTx.Responses():
			o.c.srv.traffic.response(string(sip.INVITE), res.StatusCode, dirIn)
			first := !o.heard()
			o.lastCode = res.StatusCode
			if first {
				noAnswer.Stop()
				t := time.NewTimer(cfg.RingTimeout)
				defer t.Stop()
				ring = t.C
			}
			if done, r, err := o.onResponse(ctx, res); done {
				return r, err
			}
		case <-o.bTx.Done():
			o.bTx.Terminate()
			if o.isCancelled() {
				return nil, errCancelled
			}
			return nil, statusErr(408, "Request Timeout", o.bTx.Err())
		case <-noAnswer.C:
			o.bTx.Terminate()
			if o.isCancelled() {
				return nil, errCancelled
			}
			return nil, statusErr(408, "Request Timeout", errors.New("target sent no response"))
		case <-ring:
			o.cancelB()
			return nil, statusErr(480, "Temporarily Unavailable", errors.New("no answer"))
		case <-o.cancelled:
			o.cancelled = nil // fire once; keep waiting for B's final response
			// RFC 3261 9.1: no CANCEL before a provisional. Until one comes
			// the no-answer timer still runs; then CANCEL goes out at once.
			if o.heard() {
				o.cancelB()
			}
			ring = time.After(32 * time.Second) // bound the wait for 487
		}
	}
}

// heard reports whether leg B has answered this attempt at all (a
// provisional is enough): CANCEL may be sent (RFC 3261 9.1).
func (o *outbound) heard() bool { return o.lastCode != 0 }

func (o *outbound) isCancelled() bool {
	return o.cancelled == nil
}

// onResponse handles one response from leg B; done means the attempt ended.
func (o *outbound) onResponse(ctx context.Context, res *sip.Response) (bool, *sip.Response, error) {
	switch {
	case res.To() == nil: // malformed (RFC 3261 8.1.1): drop it, as sipgo matched it on Via and CSeq alone
		return false, nil, nil
	case res.IsProvisional() && o.isCancelled():
		o.cancelB() // the provisional we waited for to CANCEL
		return false, nil, nil
	case res.StatusCode == 100:
		return false, nil, nil
	case res.IsProvisional():
		o.provisional(res)
		return false, nil, nil
	case res.IsSuccess():
		o.established(res)
		if o.isCancelled() { // the CANCEL-vs-200 race: take the call down on B
			o.c.b.remoteTag, _ = res.To().Params.Get("tag")
			_ = o.ackB(nil)
			o.c.sendBye(o.c.b)
			return true, nil, errCancelled
		}
		return true, res, nil
	case (res.StatusCode == 401 || res.StatusCode == 407) && o.c.b.trunk.cfg.OutboundAuth != nil && !o.authed:
		return o.retryAuth(ctx, res)
	}
	if o.isCancelled() {
		return true, nil, errCancelled
	}
	code, reason := mapFailure(res)
	return true, nil, statusErr(code, reason, fmt.Errorf("%w %d", errTargetAnswered, res.StatusCode))
}

// mapFailure maps leg B's final failure to leg A's: challenges and
// redirects are tonewall's business, not the caller's.
func mapFailure(res *sip.Response) (int, string) {
	switch {
	case res.StatusCode == 401 || res.StatusCode == 407:
		return 503, "Service Unavailable"
	case res.StatusCode >= 300 && res.StatusCode < 400:
		return 480, "Temporarily Unavailable"
	}
	return res.StatusCode, res.Reason
}

// retryAuth answers leg B's digest challenge once with the trunk's credentials.
func (o *outbound) retryAuth(ctx context.Context, res *sip.Response) (bool, *sip.Response, error) {
	o.authed = true
	a := o.c.b.trunk.cfg.OutboundAuth
	o.bTx.Terminate()
	o.bReq.RemoveHeader("Via")
	tx, err := o.c.srv.cli.TransactionDigestAuth(ctx, o.bReq, res, sipgo.DigestAuth{Username: a.Username, Password: a.Password})
	if err != nil {
		return true, nil, statusErr(503, "Service Unavailable", err)
	}
	o.c.srv.traffic.request(string(sip.INVITE), dirOut)
	o.bTx = tx
	o.c.b.mu.Lock()
	o.c.b.cseq = o.bReq.CSeq().SeqNo
	o.c.b.mu.Unlock()
	return false, nil, nil
}

// provisional relays 180/183 to leg A, with early-media SDP when B's SDP
// answers our offer, and PRACKs a reliable provisional on leg B itself.
func (o *outbound) provisional(res *sip.Response) {
	c := o.c
	o.early = true
	if o.isCancelled() {
		return
	}
	c.setState(stateEarly)
	if req := res.GetHeader("Require"); req != nil && containsTag(req.Value(), "100rel") {
		o.prack(res)
	}
	var sdp []byte
	if len(res.Body()) > 0 && !o.lateOffer {
		b, err := c.sess.Answer(c.b.side, res.Body())
		if err != nil {
			c.log.Warn("early media SDP unusable", zap.Error(err))
		} else {
			sdp = b
		}
	}
	_ = o.aTx.Respond(c.responseToA(o.aReq, res, sdp))
}

// prack acknowledges a reliable provisional (RFC 3262) within the early dialog.
func (o *outbound) prack(res *sip.Response) {
	rseq := res.GetHeader("RSeq")
	if rseq == nil {
		return
	}
	b := o.c.b
	o.setDialogFrom(res)
	req := b.newRequest(sip.PRACK)
	cseq := o.bReq.CSeq()
	req.AppendHeader(sip.NewHeader("RAck", fmt.Sprintf("%s %d %s", rseq.Value(), cseq.SeqNo, cseq.MethodName)))
	go func() {
		ctx, cancel := o.c.ctxFor(8 * time.Second)
		defer cancel()
		_, _ = b.send(ctx, req)
	}()
}

// established records leg B's dialog from its 2xx (RFC 3261 12.1.2).
func (o *outbound) established(res *sip.Response) {
	o.setDialogFrom(res)
	o.c.srv.dialogs.add(o.c.b)
}

func (o *outbound) setDialogFrom(res *sip.Response) {
	b := o.c.b
	tag, _ := res.To().Params.Get("tag")
	b.mu.Lock()
	b.remoteTag = tag
	b.routeSet = reversed(recordRoutes(res))
	if ct := res.Contact(); ct != nil {
		b.remoteTarget = ct.Address
	}
	b.mu.Unlock()
}

// cancelB sends CANCEL for the INVITE in flight (RFC 3261 9.1).
func (o *outbound) cancelB() {
	if o.bReq == nil || o.cancelSent {
		return
	}
	o.cancelSent = true
	req := sip.NewRequest(sip.CANCEL, o.bReq.Recipient)
	req.AppendHeader(sip.HeaderClone(o.bReq.Via()))
	req.AppendHeader(sip.HeaderClone(o.bReq.From()))
	req.AppendHeader(sip.HeaderClone(o.bReq.To()))
	req.AppendHeader(sip.HeaderClone(o.bReq.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: o.bReq.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	sip.CopyHeaders("Route", o.bReq, req)
	req.SetBody(nil)
	req.SetTransport(o.bReq.Transport())
	req.SetDestination(o.bReq.Destination())
	req.Laddr = o.bReq.Laddr
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		o.c.srv.traffic.request(string(sip.CANCEL), dirOut)
		_, _ = o.c.srv.cli.Do(ctx, req, func(*sipgo.Client, *sip.Request) error { return nil })
	}()
}

// ackB acknowledges leg B's 2xx, with SDP for a late offer.
func (o *outbound) ackB(body []byte) error {
	return o.c.b.ack(o.bReq, body)
}

// sdpForA turns leg B's 2xx SDP into leg A's: an answer to A's offer, or,
// for a late offer, B's offer (A answers in its ACK).
func (o *outbound) sdpForA(res *sip.Response) ([]byte, error) {
	if len(res.Body()) == 0 {
		if o.lateOffer {
			return nil, statusErr(488, "Not Acceptable Here", errors.New("late offer answered without SDP"))
		}
		return nil, nil
	}
	if o.lateOffer {
		return o.c.sess.Offer(o.c.b.side, res.Body())
	}
	return o.c.sess.Answer(o.c.b.side, res.Body())
}

// buildInvite makes leg B's INVITE toward one target.
func (o *outbound) buildInvite(target sip.Uri) *sip.Request {
	c, b := o.c, o.c.b
	ruri := *target.Clone()
	if ruri.User == "" {
		ruri.User = o.aReq.Recipient.User
	}
	b.remoteTarget = ruri
	b.remoteURI.Host = ruri.Host
	b.remoteURI.Port = ruri.Port
	req := b.newRequest(sip.INVITE)
	req.CSeq().SeqNo = 1
	b.cseq = 1
	if mf := o.aReq.MaxForwards(); mf != nil {
		v := sip.MaxForwardsHeader(min(int(mf.Val())-1, c.srv.cfg.SIP.MaxForwards))
		req.ReplaceHeader(&v)
	}
	if b.side == media.ContactCenter {
		req.AppendHeader(sip.NewHeader("X-Tonewall-Call-ID", c.id))
	}
	req.AppendHeader(sip.NewHeader("Allow", allowed))
	c.srv.addUserAgent(req)
	c.srv.copyPassHeaders(o.aReq, req)
	if len(o.offer) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(o.offer)
	}
	return req
}
