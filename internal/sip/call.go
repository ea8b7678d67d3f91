package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/card"
	"github.com/tonewall/tonewall/internal/media"
)

type callState int

const (
	stateTrying callState = iota
	stateEarly
	stateConfirmed
	stateTerminated
)

func (s callState) String() string {
	return [...]string{"trying", "early", "confirmed", "terminated"}[s]
}

// Call joins leg A (the dialog with whoever sent the INVITE) and leg B (the
// dialog tonewall opened toward the routed trunk).
type Call struct {
	id      string
	srv     *Server
	log     *zap.Logger
	route   *route
	a, b    *Leg
	sess    *media.Session
	created time.Time
	release []func() // admission places and held connections, given back at the end

	mu       sync.Mutex
	state    callState           // guarded by mu
	answered time.Time           // guarded by mu: when leg A was sent its 2xx
	out      outcome             // guarded by mu: the final answer to leg A
	ctrl     *capture.Controller // guarded by mu; nil when the route takes no captures
	acks     chan *sip.Request   // 2xx ACKs from leg A (initial INVITE or re-INVITE)
	ended    chan struct{}
	endOnce  sync.Once
}

// CallInfo is what the control API shows of a call. The carrier leg's
// Call-ID stays inside tonewall, like the rest of the carrier's dialog.
type CallInfo struct {
	ID           string    `json:"id"`
	State        string    `json:"state"`
	FromTrunk    string    `json:"from_trunk"`
	ToTrunk      string    `json:"to_trunk"`
	ContactCall  string    `json:"contact_center_call_id"`
	Capture      string    `json:"capture_policy"`
	CaptureID    string    `json:"capture_id,omitempty"`    // the call's current or last capture
	CaptureState string    `json:"capture_state,omitempty"` // its state: collecting, tokenized, …
	Created      time.Time `json:"created"`
}

// newID is a random call id (also the contact center's Call-ID, with
// @tonewall). One whose hex digits happen to form a Luhn-valid 13-19-digit
// run (about 1 draw in 1,000) is drawn again: ids go out in API answers and
// SIP messages, and the egress checks would take it for a card.
func newID() string {
	b := make([]byte, 12)
	for {
		_, _ = rand.Read(b)
		if id := hex.EncodeToString(b); !card.HoldsCardNumber([]byte(id)) {
			return id
		}
	}
}

func (c *Call) getState() callState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *Call) setState(s callState) {
	c.mu.Lock()
	if c.state != stateTerminated {
		c.state = s
	}
	c.mu.Unlock()
}

// other returns the leg opposite l.
func (c *Call) other(l *Leg) *Leg {
	if l == c.a {
		return c.b
	}
	return c.a
}

// Info describes the call for the control API.
func (c *Call) Info() CallInfo {
	return CallInfo{
		ID: c.id, State: c.getState().String(),
		FromTrunk: c.a.trunk.cfg.Name, ToTrunk: c.b.trunk.cfg.Name,
		ContactCall: c.ccLeg().callID,
		Capture:     c.route.capture, Created: c.created,
	}.withCapture(c.controller())
}

// withCapture adds the state of the call's current (or last) capture.
func (i CallInfo) withCapture(ctrl *capture.Controller) CallInfo {
	if ctrl == nil {
		return i
	}
	if cur := ctrl.Current(); cur != nil {
		st := cur.Status()
		i.CaptureID, i.CaptureState = st.ID, st.State
	}
	return i
}

// end tears the call down once: both dialogs forgotten, media closed, and a
// BYE sent on every confirmed leg except skip (the leg that said BYE).
func (c *Call) end(reason string, skip *Leg) {
	c.endOnce.Do(func() {
		c.mu.Lock()
		wasConfirmed := c.state == stateConfirmed
		c.state = stateTerminated
		ctrl := c.ctrl
		c.mu.Unlock()
		c.srv.dialogs.remove(c.a)
		c.srv.dialogs.remove(c.b)
		if ctrl != nil {
			c.srv.captures.Detach(c.id) // an open capture ends call_ended, digits wiped
		}
		if c.sess != nil {
			_ = c.sess.Close()
		}
		close(c.ended)
		c.srv.calls.remove(c.id)
		for _, f := range c.release {
			f()
		}
		c.record(reason, skip, ctrl) // its captures have ended: Detach waited for them
		if wasConfirmed {
			var wg sync.WaitGroup // both BYEs at once: a dead leg must not delay the live one
			for _, l := range []*Leg{c.a, c.b} {
				if l != skip {
					wg.Add(1)
					go func() { defer wg.Done(); c.sendBye(l) }()
				}
			}
			wg.Wait()
		}
		c.log.Info("call ended", zap.String("reason", reason), zap.Duration("duration", time.Since(c.created)))
	})
}

func (c *Call) sendBye(l *Leg) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := l.newRequest(sip.BYE)
	c.srv.addUserAgent(req)
	if _, err := l.send(ctx, req); err != nil {
		c.log.Debug("BYE failed", zap.String("leg", l.side.String()), zap.Error(err))
	}
}

// attachCapture installs the capture point on the carrier→contact-center
// media of a call whose route takes captures.
func (c *Call) attachCapture() {
	if c.srv.captures == nil || c.route.capture == "off" {
		return
	}
	ctrl, err := c.srv.captures.Attach(c.id, capture.Point{Policy: c.route.capture,
		TokenInBand: c.ccLeg().trunk.cfg.Media.DTMF == media.DTMFInband, Deliver: c.sendInfoToCC})
	if err != nil {
		c.log.Error("capture point not attached", zap.Error(err))
		return
	}
	c.mu.Lock()
	ended := c.state == stateTerminated
	if !ended {
		c.ctrl = ctrl
	}
	c.mu.Unlock()
	if ended { // the call ended while attaching: end has not seen ctrl
		c.srv.captures.Detach(c.id)
		return
	}
	c.sess.SetStage(ctrl)
}

// controller is the call's capture point, or nil.
func (c *Call) controller() *capture.Controller {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ctrl
}

// sendInfoToCC sends an INFO toward the contact-center leg (a capture's result).
func (c *Call) sendInfoToCC(contentType string, body []byte) error {
	l := c.ccLeg()
	req := l.newRequest(sip.INFO)
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.SetBody(body)
	if c.blocksEgress(l, req, body, req.ContentType(), "INFO") {
		return errEgress
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := l.send(ctx, req)
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return fmt.Errorf("contact center answered %d", res.StatusCode)
	}
	return nil
}

// watchMedia ends the call when its media session ends by itself.
func (c *Call) watchMedia() {
	select {
	case <-c.sess.Done():
		c.end("media: "+errString(c.sess.Err()), nil)
	case <-c.ended:
	}
}

func errString(err error) string {
	if err == nil {
		return "ended"
	}
	return err.Error()
}

// hangupAll ends every call, sending BYE on both legs.
func (s *Server) hangupAll(reason string) {
	var wg sync.WaitGroup
	for _, c := range s.calls.all() {
		wg.Add(1)
		go func(c *Call) {
			defer wg.Done()
			c.end(reason, nil)
		}(c)
	}
	wg.Wait()
}

// ccLeg is the call's contact-center leg.
func (c *Call) ccLeg() *Leg {
	if c.a.side == media.ContactCenter {
		return c.a
	}
	return c.b
}

// Call finds a call by tonewall call id or by its contact-center Call-ID.
func (s *Server) Call(id string) (CallInfo, bool) {
	if c := s.calls.get(id); c != nil {
		return c.Info(), true
	}
	for _, c := range s.calls.all() {
		if c.ccLeg().callID == id {
			return c.Info(), true
		}
	}
	return CallInfo{}, false
}

// Calls lists the calls in progress.
func (s *Server) Calls() []CallInfo {
	all := s.calls.all()
	out := make([]CallInfo, 0, len(all))
	for _, c := range all {
		out = append(out, c.Info())
	}
	return out
}
