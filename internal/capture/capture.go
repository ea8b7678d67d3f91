package capture

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/dtmf/collect"
	"github.com/tonewall/tonewall/internal/vault"
)

// Request opens a capture.
type Request struct {
	Fields     []string `json:"fields"`                // pan, expiry, cvv, postal_code; default from config
	Brands     []string `json:"brands,omitempty"`      // accepted brands; default from config
	ConfirmPAN bool     `json:"confirm_pan,omitempty"` // key the card number twice
	Actor      string   `json:"-"`                     // who asked, for the audit log
	Source     string   `json:"-"`                     // and from where: the API client's IP address
}

// Status is what the control API shows of a capture: counts, never digits.
type Status struct {
	ID           string                `json:"id"`
	CallID       string                `json:"call_id"`
	State        string                `json:"state"`
	Reason       string                `json:"reason,omitempty"`
	Field        string                `json:"field,omitempty"`
	Digits       int                   `json:"digits"`
	AttemptsLeft int                   `json:"attempts_left"`
	Brand        string                `json:"brand,omitempty"`
	Last4        string                `json:"last4,omitempty"`
	Token        string                `json:"token,omitempty"`
	Fields       []collect.FieldStatus `json:"fields"`
	Created      time.Time             `json:"created"`
}

// track copies the machine's progress into the snapshot.
func (s *Status) track(st collect.Status) {
	s.State, s.Field, s.Digits = string(st.State), st.Field, st.Digits
	s.AttemptsLeft, s.Fields = st.AttemptsLeft, st.Fields
}

// Window is one capture window: it owns a collect.Machine and one goroutine.
type Window struct {
	id      string
	callID  string
	ctrl    *Controller
	svc     *Service
	m       *collect.Machine
	presses chan collect.Press
	cancel  chan struct{}
	retry   chan retryReq
	callEnd chan struct{}
	fail    chan struct{} // closed by failClosed
	done    chan struct{}
	once    sync.Once
	endOnce sync.Once

	mu         sync.Mutex
	status     Status // guarded by mu
	failReason string // guarded by mu: why the capture fails closed; the first reason wins
	over       bool   // guarded by mu: run has returned from its loop
}

// ID is the capture's id.
func (c *Window) ID() string { return c.id }

// Status returns a snapshot.
func (c *Window) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.status
	s.Fields = append([]collect.FieldStatus(nil), s.Fields...)
	return s
}

// Done is closed when the capture has ended and wiped its digits.
func (c *Window) Done() <-chan struct{} { return c.done }

type retryReq struct {
	field string
	err   chan error
}

// Retry asks the caller for one field again (the agent re-requests, say,
// the security code) without restarting the capture.
func (c *Window) Retry(field string) error {
	r := retryReq{field: field, err: make(chan error, 1)}
	select {
	case c.retry <- r:
		return <-r.err
	case <-c.done:
		return ErrNotCollecting
	}
}

// Cancel ends the capture `cancelled`; its digits are wiped.
func (c *Window) Cancel() { c.once.Do(func() { close(c.cancel) }) }

func (c *Window) callEnded() { c.endOnce.Do(func() { close(c.callEnd) }) }

// run drives the machine until a terminal state; it owns c.m.
func (c *Window) run(actor, source string) {
	defer close(c.done)
	defer c.m.Wipe()                                     // whatever the end: terminal states wipe already, this is the backstop
	defer c.ctrl.presses.CompareAndSwap(&c.presses, nil) // the window closes first
	c.audit(audit.CaptureStarted, actor, source, "", "")
	c.apply(c.m.Start(time.Now()))
	for !c.m.State().Terminal() {
		c.step()
		if c.m.State() == collect.StateTokenizing {
			c.tokenize()
		}
	}
	c.mu.Lock()
	c.over = true
	late := c.failReason != "" && c.status.Reason != c.failReason
	reason := c.failReason
	c.mu.Unlock()
	if late { // failed closed after its result was delivered
		c.withdraw(reason)
	}
}

// step waits for one input: a press, a deadline, a cancel or the call's end.
func (c *Window) step() {
	var timer <-chan time.Time
	if dl, ok := c.m.Deadline(); ok {
		t := time.NewTimer(time.Until(dl))
		defer t.Stop()
		timer = t.C
	}
	select {
	case p := <-c.presses:
		c.apply(c.m.Press(p))
	case now := <-timer:
		c.apply(c.m.Tick(now))
	case <-c.cancel:
		c.apply(c.m.Cancel())
	case r := <-c.retry:
		evs, err := c.m.Retry(r.field, time.Now())
		r.err <- err
		c.apply(evs)
	case <-c.callEnd:
		c.apply(c.m.End())
	case <-c.fail:
		c.apply(c.m.Abort(collect.Reason(c.failing())))
	}
}

// tokenize hands the collected card to the vault, then finishes the machine.
func (c *Window) tokenize() {
	r, err := c.m.Result()
	if err != nil {
		c.apply(c.m.Finish(err))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, verr := c.svc.vault.Tokenize(ctx, vault.Request{CaptureID: c.id, CallID: c.callID, PAN: r.PAN, Expiry: r.Expiry, CVV: r.CVV})
	if verr == nil {
		c.mu.Lock()
		c.status.Token, c.status.Brand, c.status.Last4 = res.Token, string(res.Brand), res.Last4
		c.mu.Unlock()
	} else {
		c.svc.log.Warn("tokenization failed", zap.String("capture_id", c.id), zap.Error(verr))
	}
	ev := c.m.Finish(verr)
	if errors.Is(verr, vault.ErrUnavailable) {
		c.mu.Lock()
		c.status.Reason = "vault_unavailable"
		c.mu.Unlock()
	}
	c.apply(ev)
}

// apply publishes the machine's events and refreshes the snapshot; on a
// terminal state it delivers and audits the result.
func (c *Window) apply(evs []collect.Event) {
	st := c.m.Status()
	c.mu.Lock()
	reason := c.status.Reason
	c.status.track(st)
	if st.Brand != "" {
		c.status.Brand, c.status.Last4 = string(st.Brand), st.Last4
	}
	if reason != "vault_unavailable" {
		c.status.Reason = string(st.Reason)
	}
	snap := c.status
	c.mu.Unlock()
	for _, e := range evs {
		c.svc.Events.publish(c.event(e, snap))
	}
	if st.State.Terminal() {
		c.finish(snap)
	}
}

func (c *Window) event(e collect.Event, snap Status) Event {
	ev := Event{Time: time.Now(), CallID: c.callID, CaptureID: c.id, Type: string(e.Type), Field: e.Field,
		Count: e.Count, Reason: string(e.Reason), State: string(e.State), Brand: string(e.Brand), Last4: e.Last4,
		Attempts: e.AttemptsLeft}
	if e.Type == collect.EventState && e.State == collect.StateTokenized {
		ev.Token = snap.Token
	}
	if e.Type == collect.EventState && snap.Reason == "vault_unavailable" {
		ev.Reason = snap.Reason
	}
	return ev
}

// finish checks and delivers the result (delivery.go) and audits the end.
// A capture failing closed meanwhile, or a result that holds a card number,
// ends failed instead.
func (c *Window) finish(snap Status) {
	if r := c.failing(); r != "" && snap.Reason != r {
		snap = c.failResult(r)
	}
	hook, info, blocked := c.results(snap)
	if blocked {
		snap = c.failResult(ReasonEgressBlocked)
		hook, info, _ = c.results(snap)
	}
	c.svc.ended(snap.State, time.Since(snap.Created))
	c.audit(audit.CaptureEnded, "", "", snap.State, snap.Reason)
	c.send(snap, hook, info)
}

// failClosed ends the capture failed with reason: an open one through its
// goroutine (its digits wiped as for every end; Done closes after), one
// whose result has gone out by withdrawing it. It does not wait for the
// capture's goroutine, which may be the caller: a SIP egress check can
// block the result INFO that finish is sending.
func (c *Window) failClosed(reason string) {
	c.mu.Lock()
	first, over := c.failReason == "", c.over
	if first {
		c.failReason = reason
	}
	c.mu.Unlock()
	switch {
	case !first:
	case over:
		c.withdraw(reason)
	default:
		close(c.fail)
	}
}

// failing is the reason the capture fails closed, or "".
func (c *Window) failing() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failReason
}

// failResult turns the capture's snapshot into a failed one with reason,
// without its token, and announces it.
func (c *Window) failResult(reason string) Status {
	c.mu.Lock()
	if c.failReason == "" {
		c.failReason = reason
	}
	c.status.State, c.status.Reason = string(collect.StateFailed), reason
	c.status.Token, c.status.Brand, c.status.Last4 = "", "", ""
	snap := c.status
	c.mu.Unlock()
	c.svc.Events.publish(Event{Time: time.Now(), CallID: c.callID, CaptureID: c.id, Type: string(collect.EventState),
		State: snap.State, Reason: reason})
	return snap
}

// withdraw fails a capture whose result has already gone out: its status
// becomes failed, a token not yet keyed is not keyed, and the end is
// audited again with the reason.
func (c *Window) withdraw(reason string) {
	snap := c.failResult(reason)
	c.ctrl.inject.Store(nil)
	c.audit(audit.CaptureEnded, "", "", snap.State, snap.Reason)
}

// ResultContentType is the SIP INFO body type of a capture's result.
const ResultContentType = "application/vnd.tonewall.capture+json"

type resultBody struct {
	CaptureID string `json:"capture_id"`
	CallID    string `json:"call_id,omitempty"`
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
	Token     string `json:"token,omitempty"`
	Brand     string `json:"brand,omitempty"`
	Last4     string `json:"last4,omitempty"`
}

func (c *Window) audit(t audit.Type, actor, source, outcome, reason string) {
	c.mu.Lock()
	token := c.status.Token
	c.mu.Unlock()
	c.svc.appendAudit(audit.Record{Type: t, Actor: actor, Source: source, CallID: c.callID, CaptureID: c.id,
		Token: token, Outcome: outcome, Reason: reason})
}
