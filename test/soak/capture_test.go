package soak

import (
	"fmt"
	"time"

	"github.com/tonewall/tonewall/internal/dtmf/collect"
	"github.com/tonewall/tonewall/internal/sbctest"
	"github.com/tonewall/tonewall/internal/sbctest/inband"
)

// The caller's card: number, end of the number, expiry, security code.
const (
	card      = "4111111111111111" + "#" + "1230" + "737"
	midDigits = 8 // keyed before a hang-up or a cancel mid-capture
)

// capture opens a window through the control API, as a desk application
// does, keys the card into it (all of it, or the first digits when the
// window is to end early) and ends it as the plan says.
func (k *soak) capture(c *call, callID string) error {
	id, err := k.api.openCapture(callID)
	if err != nil {
		return err
	}
	k.want.add(captureState[c.plan.capture])
	keys := card
	if c.plan.capture != capTokenized {
		keys = card[:midDigits]
	}
	if err := key(c.carrier, keys, c.plan.inband); err != nil {
		return err
	}
	switch c.plan.capture {
	case capTokenized:
		st, err := k.awaitCapture(c, callID, id, func(st captureStatus) bool { return collect.State(st.State).Terminal() })
		if err == nil && (st.State != "tokenized" || st.Last4 != "1111") {
			err = fmt.Errorf("capture ended %s (%s), last4 %q; want tokenized, 1111", st.State, st.Reason, st.Last4)
		}
		return err
	case capCancelled:
		st, err := k.api.capture("DELETE", callID, id)
		if err == nil && st.State != "cancelled" {
			err = fmt.Errorf("capture DELETE: state %s, want cancelled", st.State)
		}
		return err
	}
	_, err = k.awaitCapture(c, callID, id, func(st captureStatus) bool { return st.Digits >= midDigits })
	return err
}

// key sends keys from the caller's phone, as RFC 4733 events or as tones.
func key(p *sbctest.Phone, keys string, tones bool) error {
	p.Pace = 0 // the kit's 2 ms: the RTP clock, not the wall clock, times a key
	for _, k := range []byte(keys) {
		send := p.Key
		if tones {
			send = func(k byte) error { return inband.Key(p, k) }
		}
		if err := send(k); err != nil {
			return err
		}
	}
	return nil
}

// awaitCapture polls the capture until ok, the caller talking meanwhile
// (an in-band key is only heard once the silence after it arrives).
func (k *soak) awaitCapture(c *call, callID, id string, ok func(captureStatus) bool) (captureStatus, error) {
	deadline := time.Now().Add(2 * settle)
	for {
		if err := talk(c.carrier, 5*frame); err != nil {
			return captureStatus{}, err
		}
		st, err := k.api.capture("GET", callID, id)
		if err != nil || ok(st) {
			return st, err
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("capture stuck: %s, %d digits", st.State, st.Digits)
		}
	}
}
