package capture

import (
	"time"

	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/card"
)

// Reasons a capture fails closed, as its status and audit records show them.
const (
	ReasonMaskLeak      = "mask_leak"      // the leak canary found a key in what the window forwarded
	ReasonEgressBlocked = "egress_blocked" // a message about the capture held a card number and was not sent
)

// FailClosed ends a capture failed with reason, whichever call holds it:
// other packages' egress checks call it when they block a message
// concerning the capture. An open capture's digits are wiped and its end
// audited, as for every end, on its own goroutine (its Done closes once
// they are); one that has already ended has its result withdrawn (failed,
// no token; audited again) before FailClosed returns. It reports whether a
// capture with that id was found. It never waits for the capture, so a
// check may call it from anywhere, the capture's own deliveries included.
func (s *Service) FailClosed(captureID, reason string) bool {
	c := s.find(captureID)
	if c == nil {
		return false
	}
	c.failClosed(reason)
	return true
}

// find is the capture with id among the calls' open or last captures.
func (s *Service) find(id string) *Window {
	s.mu.Lock()
	ctrls := make([]*Controller, 0, len(s.calls))
	for _, c := range s.calls {
		ctrls = append(ctrls, c)
	}
	s.mu.Unlock()
	for _, ctrl := range ctrls {
		if c := ctrl.Current(); c != nil && c.id == id {
			return c
		}
	}
	return nil
}

// recordLeak writes what the canary found to the audit log and the log,
// without a digit, and fails the window's capture closed. cur may be nil
// or already ended (masking lingers after a window).
func (s *Service) recordLeak(callID string, cur *Window, kind string, at time.Time) {
	id := ""
	if cur != nil {
		id = cur.id
	}
	s.log.Error("mask leak: a key reached the contact center's side inside a capture window; failing the capture closed",
		zap.String("call_id", callID), zap.String("capture_id", id), zap.String("kind", kind))
	s.appendAudit(audit.Record{Type: audit.MaskLeak, Time: at, CallID: callID, CaptureID: id, Reason: kind})
	if cur != nil {
		cur.failClosed(ReasonMaskLeak)
	}
}

// egress is the body a capture's result leaves by path with, or nil when
// it holds a card number: then it is not sent, and that is counted and
// logged (without the body).
func (s *Service) egress(c *Window, path string, body []byte) []byte {
	if s.egressHook != nil {
		body = s.egressHook(path, body)
	}
	if !card.HoldsCardNumber(body) {
		return body
	}
	s.metrics.blocked.WithLabelValues(path).Inc()
	s.log.Error("capture result held a card number and was not sent; failing the capture closed",
		zap.String("call_id", c.callID), zap.String("capture_id", c.id), zap.String("path", path))
	return nil
}

func (s *Service) appendAudit(r audit.Record) {
	if s.audit == nil {
		return
	}
	if _, err := s.audit.Append(r); err != nil {
		s.log.Error("audit log append failed", zap.Error(err))
	}
}
