package cdr

import (
	"encoding/json"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

// Record is one call. Leg A is the dialog with whoever sent the INVITE,
// leg B the one tonewall opened toward the routed trunk.
type Record struct {
	CallID     string // tonewall's call id (X-Tonewall-Call-ID toward the contact center); empty when refused
	LegACallID string
	LegBCallID string // empty for a call refused before leg B existed
	FromTrunk  string // leg A's trunk
	ToTrunk    string // leg B's trunk; empty when refused before routing
	Start      time.Time
	Answer     time.Time // zero: never answered
	End        time.Time
	Result     string // answered | failed | cancelled | refused
	Code       int    // the final status leg A got: 200, 486, 487, 503, …
	Hangup     string // who ended it: caller (leg A), callee (leg B) or tonewall
	Reason     string // tonewall's words for the end, e.g. "BYE from carrier"
	Captures   []Capture
}

// Results.
const (
	Answered  = "answered"  // leg A got a 2xx
	Failed    = "failed"    // leg A got a final failure after leg B was tried
	Cancelled = "cancelled" // leg A cancelled before an answer
	Refused   = "refused"   // refused before any INVITE left: a cap, the route, authentication, …
)

// Who hung up.
const (
	Caller   = "caller"
	Callee   = "callee"
	Tonewall = "tonewall"
)

// Capture is the outcome of one capture on the call: never a digit, never
// the token.
type Capture struct {
	ID     string `json:"id"`
	State  string `json:"state"`            // tokenized, failed, cancelled, timed_out, call_ended, …
	Reason string `json:"reason,omitempty"` // why it failed, when it did
}

// line is a Record as written.
type line struct {
	CallID     string    `json:"call_id,omitempty"` // none for a refused call
	LegACallID string    `json:"leg_a_call_id"`
	LegBCallID string    `json:"leg_b_call_id,omitempty"`
	FromTrunk  string    `json:"from_trunk,omitempty"`
	ToTrunk    string    `json:"to_trunk,omitempty"`
	Start      string    `json:"start"`
	Answer     string    `json:"answer,omitempty"`
	End        string    `json:"end"`
	DurationMS int64     `json:"duration_ms"` // answer to end; 0 when never answered
	Result     string    `json:"result"`
	Code       int       `json:"sip_code"`
	Hangup     string    `json:"hangup"`
	Reason     string    `json:"reason,omitempty"`
	Captures   []Capture `json:"captures,omitempty"`
}

// timeFormat is RFC 3339 in UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// encode is the record's line, newline included. Any field that holds what
// looks like a card number (a Call-ID is the peer's to choose) is written
// as card.Redacted.
func (r *Record) encode() ([]byte, error) {
	l := line{CallID: r.CallID, LegACallID: r.LegACallID, LegBCallID: r.LegBCallID, FromTrunk: r.FromTrunk,
		ToTrunk: r.ToTrunk, Start: stamp(r.Start), Answer: stamp(r.Answer), End: stamp(r.End),
		Result: r.Result, Code: r.Code, Hangup: r.Hangup, Reason: r.Reason}
	if !r.Answer.IsZero() && r.End.After(r.Answer) {
		l.DurationMS = r.End.Sub(r.Answer).Milliseconds()
	}
	for _, s := range []*string{&l.CallID, &l.LegACallID, &l.LegBCallID, &l.FromTrunk, &l.ToTrunk, &l.Result, &l.Hangup, &l.Reason} {
		*s = clean(*s)
	}
	for _, c := range r.Captures {
		l.Captures = append(l.Captures, Capture{ID: clean(c.ID), State: clean(c.State), Reason: clean(c.Reason)})
	}
	b, err := json.Marshal(l)
	return append(b, '\n'), err
}

func clean(s string) string {
	if card.HoldsCardNumber([]byte(s)) {
		return card.Redacted
	}
	return s
}
