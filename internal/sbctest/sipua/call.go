package sipua

import (
	"context"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Call places a call to a tonewall listener and waits for the answer.
func (a *Agent) Call(ctx context.Context, to string, body []byte, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	return a.CallAuth(ctx, to, body, sipgo.AnswerOptions{}, hdrs...)
}

// CallAuth is Call with answer options: digest credentials for a
// challenge, say.
func (a *Agent) CallAuth(ctx context.Context, to string, body []byte, opts sipgo.AnswerOptions, hdrs ...sip.Header) (*sipgo.DialogClientSession, error) {
	hdrs = append(hdrs, sip.NewHeader("Content-Type", "application/sdp"))
	sess, err := a.Dialogs.Invite(ctx, a.uri(a.o.User, to), body, hdrs...)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.sentInvite = sess.InviteRequest
	a.mu.Unlock()
	if opts.OnResponse == nil {
		opts.OnResponse = a.noteResponse
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

// CallAndHangUp places a whole call: INVITE, 200, ACK, then BYE.
func (a *Agent) CallAndHangUp(ctx context.Context, to string) error {
	s, err := a.Call(ctx, to, a.SDP())
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Bye(ctx)
}
