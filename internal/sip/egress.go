package sip

import (
	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/card"
	"github.com/tonewall/tonewall/internal/media"
)

// The egress check is the last line before a SIP message leaves toward the
// contact center on a call that has had a capture: a message whose body or
// relayed headers hold a Luhn-valid run of 13 to 19 digits is not sent, and
// the capture fails closed. Tokens fail Luhn by construction, so nothing
// tonewall means to send matches.
//
// What is read: the body unless it is SDP (SDP's session ids are long
// decimal numbers, and a tenth of them pass Luhn), and the headers
// sip.header_pass relays. Addressing headers (From, To, Contact, the
// Request-URI, P-Asserted-Identity…) are tonewall's own or the carrier's
// phone numbers, never a digit typed in a window, and are not read: an E.164
// number of 13 to 15 digits passes Luhn one time in ten.

// blocksEgress reports whether m, about to leave on leg to, must not, and
// if so fails the call's capture closed.
func (c *Call) blocksEgress(to *Leg, m headerMsg, body []byte, ct *sip.ContentTypeHeader, what string) bool {
	if to.side != media.ContactCenter || !c.hadCapture() || !c.srv.holdsCard(m, body, ct) {
		return false
	}
	c.srv.metrics.egressBlocked.Inc()
	c.log.Error("SIP message toward the contact center held what looks like a card number: not sent",
		zap.String("message", what))
	f, ok := any(c.srv.captures).(interface {
		FailClosed(captureID, reason string) bool
	})
	if ctrl := c.controller(); ok && ctrl != nil {
		if cur := ctrl.Current(); cur != nil {
			f.FailClosed(cur.Status().ID, "egress_blocked")
		}
	}
	return true
}

// hadCapture reports whether a capture window has been opened on the call.
func (c *Call) hadCapture() bool {
	ctrl := c.controller()
	return ctrl != nil && ctrl.Current() != nil
}

func (s *Server) holdsCard(m headerMsg, body []byte, ct *sip.ContentTypeHeader) bool {
	if len(body) > 0 && (ct == nil || !isSDP(ct)) && card.HoldsCardNumber(body) {
		return true
	}
	for _, name := range s.cfg.SIP.HeaderPass {
		for _, h := range matchHeaders(m, name) {
			if card.HoldsCardNumber([]byte(h.Value())) {
				return true
			}
		}
	}
	return false
}
