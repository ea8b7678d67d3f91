package sip

import (
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/cdr"
)

// SetCDR has every call write a call detail record to w when it ends
// (nil: none). Call it before Run.
func (s *Server) SetCDR(w *cdr.Writer) { s.cdr = w }

// errTargetAnswered marks a failure leg B's target answered itself.
var errTargetAnswered = errors.New("target answered")

// outcome is how a call that was never answered ended, as fail saw it.
type outcome struct {
	code   int    // the final status leg A got
	result string // cdr.Failed, cdr.Cancelled or cdr.Refused
	by     string // cdr.Caller, cdr.Callee or cdr.Tonewall
}

// refusal is the error of a call refused before any INVITE left for leg B
// (the caller's offer is unusable): its result is cdr.Refused.
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

// failedWith is the outcome of a call that fails with err before an answer.
func failedWith(err error) outcome {
	var r refusal
	switch {
	case errors.As(err, &r):
		code, _ := statusOf(err)
		return outcome{code: code, result: cdr.Refused, by: cdr.Tonewall}
	case errors.Is(err, errCancelled):
		return outcome{code: 487, result: cdr.Cancelled, by: cdr.Caller}
	case errors.Is(err, errTargetAnswered):
		code, _ := statusOf(err)
		return outcome{code: code, result: cdr.Failed, by: cdr.Callee}
	}
	code, _ := statusOf(err)
	return outcome{code: code, result: cdr.Failed, by: cdr.Tonewall}
}

// record writes the record of a call that ends now; skip is the leg whose
// BYE ended it, ctrl its capture point (nil: none), whose captures have
// ended by now.
func (c *Call) record(reason string, skip *Leg, ctrl *capture.Controller) {
	if c.srv.cdr == nil {
		return
	}
	c.mu.Lock()
	answered, out := c.answered, c.out
	c.mu.Unlock()
	r := cdr.Record{CallID: c.id, LegACallID: c.a.callID, LegBCallID: c.b.callID,
		FromTrunk: c.a.trunk.cfg.Name, ToTrunk: c.b.trunk.cfg.Name,
		Start: c.created, Answer: answered, End: time.Now(), Reason: reason}
	switch {
	case !answered.IsZero():
		r.Result, r.Code, r.Hangup = cdr.Answered, out.code, hangupBy(c, skip)
	case out.result != "":
		r.Result, r.Code, r.Hangup = out.result, out.code, out.by
	default: // ended by tonewall before any final answer (shutdown, drain)
		r.Result, r.Hangup = cdr.Failed, cdr.Tonewall
	}
	if ctrl != nil {
		for _, cp := range ctrl.Captures() {
			st := cp.Status()
			r.Captures = append(r.Captures, cdr.Capture{ID: st.ID, State: st.State, Reason: st.Reason})
		}
	}
	c.srv.cdr.Write(r)
}

func hangupBy(c *Call, skip *Leg) string {
	switch skip {
	case c.a:
		return cdr.Caller
	case c.b:
		return cdr.Callee
	}
	return cdr.Tonewall
}

// recordRefused writes the record of an INVITE refused before a call was
// set up, when it came from a trunk: a stranger's requests make no
// records, nor do digest challenges, which are how authenticated calls
// begin.
func (s *Server) recordRefused(req *sip.Request, t *trunk, err error) {
	code, _ := statusOf(err)
	if s.cdr == nil || t == nil || code == 401 || code == 407 {
		return
	}
	now := time.Now()
	r := cdr.Record{CallID: "", LegACallID: req.CallID().Value(), FromTrunk: t.cfg.Name,
		Start: now, End: now, Result: cdr.Refused, Code: code, Hangup: cdr.Tonewall, Reason: errString(err)}
	if t.route != nil {
		r.ToTrunk = t.route.to.cfg.Name
	}
	s.cdr.Write(r)
}
