package collect

import (
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

// Machine is the capture state machine of one capture window. It is pure:
// no goroutines, no I/O, no clock — every input carries its time. It is not
// safe for concurrent use; the per-call capture code owns it and calls it
// from one goroutine. Every method returns the events the call caused, in order.
type Machine struct {
	opts       Options
	slots      []slot
	cur        int  // index of the field being collected
	confirming bool // the PAN's second entry is being keyed
	state      State
	reason     Reason // why it failed
	brand      card.Brand
	last4      [4]byte // of the valid PAN; zeroed with the digits
	now        time.Time
	deadline   time.Time // first-digit or inter-digit deadline of the current field
	overall    time.Time // zero: no overall timeout
	seen       history
}

// New checks opts and returns an idle Machine. It starts nothing.
func New(opts Options) (*Machine, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Machine{opts: o, state: StateIdle, slots: make([]slot, len(o.Fields))}
	for i, f := range o.Fields {
		m.slots[i].Field = f
	}
	return m, nil
}

// Start opens the capture at now: it prompts for the first field and starts
// the first-digit and overall timers. Only the first call does anything.
func (m *Machine) Start(now time.Time) []Event {
	if m.state != StateIdle {
		return nil
	}
	m.state, m.now = StateCollecting, now
	if m.opts.Timeout > 0 {
		m.overall = now.Add(m.opts.Timeout)
	}
	return m.prompt()
}

// Deadline is when Tick must next be called; false when no timer runs
// (idle, tokenizing, ended).
func (m *Machine) Deadline() (time.Time, bool) {
	if m.state != StateCollecting {
		return time.Time{}, false
	}
	if !m.overall.IsZero() && m.overall.Before(m.deadline) {
		return m.overall, true
	}
	return m.deadline, true
}

// Tick fires the timers due at now: the overall timeout ends the capture
// timed_out; a first-digit or inter-digit timeout is a timeout failure of the
// current field (re-prompt, or failed when attempts are exhausted).
func (m *Machine) Tick(now time.Time) []Event {
	if m.state != StateCollecting {
		return nil
	}
	m.now = later(m.now, now)
	if !m.overall.IsZero() && !m.now.Before(m.overall) {
		return m.end(StateTimedOut, ReasonNone)
	}
	if !m.now.Before(m.deadline) {
		return m.fail(Timeout, card.Unknown)
	}
	return nil
}

// Press takes one key press. A press that repeats one accepted from another
// source is dropped (see Press for the duplicate rule) with an
// EventDuplicate. Timers due by p.At fire first, so a late digit is a timeout
// and then the first digit of the next attempt. Keys: digits append, '#' ends
// the field now (ignored on an empty entry, so a habitual '#' after a field
// completed by itself is harmless), '*' clears the entry, 'A'–'D' are ignored.
func (m *Machine) Press(p Press) []Event {
	if m.state != StateCollecting || !validKey(p.Key) {
		return nil
	}
	if m.seen.duplicate(p, m.opts.Skew, m.opts.InfoSkew) {
		return []Event{{Type: EventDuplicate, Source: p.Source}}
	}
	m.seen.add(p.span())
	evs := m.Tick(p.At)
	if m.state != StateCollecting {
		return evs
	}
	return append(evs, m.key(p.Key)...)
}

func (m *Machine) key(k byte) []Event {
	s, e := m.entry()
	switch {
	case isDigit(k):
		e.Append(k)
		m.deadline = m.now.Add(m.opts.InterDigitTimeout)
		ev := Event{Type: EventDigit, Field: s.Name, Confirm: m.confirming, Count: e.Len()}
		if m.full(s, e) {
			return append([]Event{ev}, m.complete()...)
		}
		return []Event{ev}
	case k == '#' && e.Len() > 0:
		return m.complete()
	case k == '*' && e.Len() > 0:
		e.Wipe()
		m.deadline = m.now.Add(m.opts.FirstDigitTimeout)
		return []Event{{Type: EventCleared, Field: s.Name, Confirm: m.confirming}}
	}
	return nil
}

// entry is the current field and the Secret being keyed into.
func (m *Machine) entry() (*slot, *card.Secret) {
	s := &m.slots[m.cur]
	if m.confirming {
		return s, &s.confirm
	}
	return s, &s.value
}

// complete validates the current entry and moves on: to the PAN confirmation,
// to the next field, to tokenizing, or to a failure.
func (m *Machine) complete() []Event {
	s := &m.slots[m.cur]
	if m.confirming {
		if !s.confirm.Equal(s.value) {
			return m.fail(Mismatch, card.Unknown)
		}
		s.confirm.Wipe()
		m.confirming = false
		return m.done(s)
	}
	reason, brand := m.check(s, m.now)
	if reason != ReasonNone {
		return m.fail(reason, brand)
	}
	if s.Kind == KindPAN {
		m.brand = brand
		if m.opts.ConfirmPAN {
			m.confirming = true
			return m.prompt()
		}
	}
	return m.done(s)
}

// done marks s complete and prompts for the first field still to collect
// (in order), or moves to tokenizing when there is none.
func (m *Machine) done(s *slot) []Event {
	s.done = true
	ev := Event{Type: EventComplete, Field: s.Name, Count: s.value.Len()}
	if s.Kind == KindPAN {
		copy(m.last4[:], card.PAN{Secret: s.value}.Last4())
		ev.Brand, ev.Last4 = m.brand, m.lastFour()
	}
	next := m.firstUndone()
	if next < 0 {
		m.state = StateTokenizing
		return []Event{ev, {Type: EventState, State: StateTokenizing}}
	}
	m.cur = next
	return append([]Event{ev}, m.prompt()...)
}

func (m *Machine) firstUndone() int {
	for i := range m.slots {
		if !m.slots[i].done {
			return i
		}
	}
	return -1
}

// fail is a failed attempt at the current field: its digits are wiped, the
// attempt counted, and the field prompted again, or the capture fails.
func (m *Machine) fail(r Reason, b card.Brand) []Event {
	s, e := m.entry()
	count := e.Len()
	m.abandon()
	s.failures++
	left := m.opts.MaxAttempts - s.failures
	ev := Event{Type: EventError, Field: s.Name, Count: count, Reason: r, AttemptsLeft: left, Brand: b}
	if left <= 0 {
		return append([]Event{ev}, m.end(StateFailed, r)...)
	}
	return append([]Event{ev}, m.prompt()...)
}

// abandon wipes what was keyed into the current field (both PAN entries)
// and forgets a brand that came from it.
func (m *Machine) abandon() {
	s := &m.slots[m.cur]
	s.wipe()
	m.confirming = false
	if s.Kind == KindPAN {
		m.brand = card.Unknown
	}
}

func (m *Machine) prompt() []Event {
	s := &m.slots[m.cur]
	m.deadline = m.now.Add(m.opts.FirstDigitTimeout)
	return []Event{{Type: EventPrompt, Field: s.Name, Confirm: m.confirming,
		Attempt: s.failures + 1, AttemptsLeft: m.opts.MaxAttempts - s.failures}}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
