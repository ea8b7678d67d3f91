package sipua

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

func (a *Agent) handlers() {
	a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		a.record(req)
		if tag, _ := req.To().Params.Get("tag"); tag != "" {
			a.reinvite(req, tx)
			return
		}
		feed(a, a.Invites, req)
		a.answer(req, tx)
	})
	a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		a.record(req)
		_ = a.ds.ReadAck(req, tx)
	})
	a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		a.record(req)
		feed(a, a.Byes, req)
		if err := a.ds.ReadBye(req, tx); err == nil {
			return
		}
		if err := a.Dialogs.ReadBye(req, tx); err != nil {
			a.UnmatchedByes.Add(1)
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
		}
	})
	for _, m := range []sip.RequestMethod{sip.INFO, sip.UPDATE, sip.OPTIONS, sip.CANCEL, sip.PRACK} {
		a.srv.OnRequest(m, a.inDialog)
	}
}

// inDialog answers INFO, UPDATE, OPTIONS, CANCEL and PRACK: 200, with
// SDP for an UPDATE that offers some, or 481 once the agent forgot its
// dialogs.
func (a *Agent) inDialog(req *sip.Request, tx sip.ServerTransaction) {
	a.record(req)
	if a.forgetful.Load() {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if req.Method == sip.UPDATE && len(req.Body()) > 0 {
		res.SetBody(a.SDP())
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	}
	_ = tx.Respond(res)
}

// answer plays the agent's plan for an initial INVITE.
func (a *Agent) answer(req *sip.Request, tx sip.ServerTransaction) {
	a.mu.Lock()
	planFor := a.plan
	a.mu.Unlock()
	p := planFor(req)
	tx.OnCancel(func(*sip.Request) { feed(a, a.Cancels, struct{}{}) })
	if p.Challenge != "" && !authorized(req, p.Challenge) {
		res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		ch := digest.Challenge{Realm: "cc", Nonce: strconv.FormatInt(time.Now().UnixNano(), 16), Algorithm: "MD5"}
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", ch.String()))
		_ = tx.Respond(res)
		return
	}
	dlg, err := a.ds.ReadInvite(req, tx)
	if err != nil {
		a.o.Errorf("ReadInvite: %v", err)
		return
	}
	defer dlg.Close()
	if p.Ring {
		_ = dlg.Respond(180, "Ringing", nil)
	}
	if p.Reliable {
		_ = dlg.Respond(183, "Session Progress", a.SDP(), sip.NewHeader("Content-Type", "application/sdp"),
			sip.NewHeader("Require", "100rel"), sip.NewHeader("RSeq", "1"))
		deadline := time.Now().Add(3 * time.Second)
		for len(a.Received(sip.PRACK)) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(p.Delay)
	if p.Code != 0 && p.Code != 200 {
		_ = dlg.Respond(p.Code, "Busy Here", nil)
		return
	}
	body := a.SDP()
	if p.NoSDP {
		body = nil
	}
	if err := dlg.Respond(200, "OK", body, sip.NewHeader("Content-Type", "application/sdp"),
		sip.NewHeader("X-CC-Internal", "agent-desk-7")); err != nil {
		// sipgo's dialog can miss an ACK that overtakes its wait; what
		// matters here is that tonewall sent one.
		if !errors.Is(err, sip.ErrTransactionCanceled) && !a.closed.Load() && !a.gotACK(req.CallID().Value()) {
			a.o.Errorf("respond 200: %v", err)
		}
		return
	}
	feed(a, a.Answered, dlg)
	select { // until BYE, or until the agent shuts down
	case <-dlg.Context().Done():
	case <-a.stopped:
	}
}

// gotACK reports whether an ACK for the Call-ID arrived, allowing a second
// for its handler goroutine (sipgo runs each message in its own) to record it.
func (a *Agent) gotACK(callID string) bool {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, r := range a.Received(sip.ACK) {
			if r.CallID().Value() == callID {
				return true
			}
		}
	}
	return false
}

// authorized checks a digest Authorization against user:pass.
func authorized(req *sip.Request, userpass string) bool {
	h := req.GetHeader("Authorization")
	if h == nil {
		return false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return false
	}
	user, pass, _ := strings.Cut(userpass, ":")
	want, err := digest.Digest(&digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: "MD5"},
		digest.Options{Method: "INVITE", URI: cred.URI, Username: user, Password: pass})
	return err == nil && cred.Username == user && want.Response == cred.Response
}

// reinvite answers a re-INVITE with 200 and this agent's SDP.
func (a *Agent) reinvite(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, 200, "OK", a.SDP())
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	contact := a.uri("", a.Addr)
	contact.UriParams = nil
	res.AppendHeader(&sip.ContactHeader{Address: contact})
	_ = tx.Respond(res)
	select {
	case <-tx.Acks():
	case <-tx.Done():
	case <-time.After(2 * time.Second):
	}
}

// feed sends v on ch unless the agent is quiet or ch is full.
func feed[T any](a *Agent, ch chan T, v T) {
	if a.o.Quiet {
		return
	}
	select {
	case ch <- v:
	default:
	}
}
