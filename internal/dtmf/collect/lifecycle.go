package collect

import (
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

// Retry re-collects one field at the agent's request, without restarting the
// capture: the field (completed, or the current one) is wiped, its attempts
// start afresh, and it is prompted now. Whatever was keyed into the current
// field is wiped too (its attempt count is kept). Once the retried field is
// valid, collection resumes with the first field, in order, that is not
// complete — so fields already valid are not asked again. Retrying the PAN
// also re-collects the cvv, whose length depends on the brand. Fields not
// reached yet give ErrFieldNotReached; Retry works only while collecting.
func (m *Machine) Retry(field string, now time.Time) ([]Event, error) {
	if m.state != StateCollecting {
		return nil, ErrNotCollecting
	}
	i := m.index(field)
	if i < 0 {
		return nil, ErrUnknownField
	}
	if i > m.cur && !m.slots[i].done {
		return nil, ErrFieldNotReached
	}
	m.now = later(m.now, now)
	m.abandon()
	m.reset(i)
	m.slots[i].failures = 0
	m.cur = i
	return m.prompt(), nil
}

// reset wipes a field and marks it not complete; for the PAN, the cvv too.
func (m *Machine) reset(i int) {
	s := &m.slots[i]
	s.wipe()
	s.done = false
	if s.Kind != KindPAN {
		return
	}
	m.brand, m.last4 = card.Unknown, [4]byte{}
	for j := range m.slots {
		if m.slots[j].Kind == KindCVV {
			m.slots[j].wipe()
			m.slots[j].done = false
		}
	}
}

func (m *Machine) index(name string) int {
	for i := range m.slots {
		if m.slots[i].Name == name {
			return i
		}
	}
	return -1
}

// Result is the collected card data, for the caller to tokenize. Its Secrets
// alias the Machine's: every terminal transition (Finish, Cancel, End, Wipe)
// zeroes them, so a driver that tokenizes on another goroutine must wait for
// that call to return before it drives the Machine again.
type Result struct {
	PAN    card.PAN
	Expiry card.Expiry
	CVV    card.CVV
	Brand  card.Brand
	Fields map[string]card.Secret // postal_code and digits fields, by name
}

// Result returns the collected fields; ErrNotReady unless tokenizing.
func (m *Machine) Result() (Result, error) {
	if m.state != StateTokenizing {
		return Result{}, ErrNotReady
	}
	r := Result{Brand: m.brand, Fields: map[string]card.Secret{}}
	for i := range m.slots {
		s := &m.slots[i]
		switch s.Kind {
		case KindPAN:
			r.PAN = card.PAN{Secret: s.value}
		case KindExpiry:
			r.Expiry = card.Expiry{Secret: s.value}
		case KindCVV:
			r.CVV = card.CVV{Secret: s.value}
		default:
			r.Fields[s.Name] = s.value
		}
	}
	return r, nil
}

// Finish ends a tokenizing capture once the caller has tokenized: tokenized
// when vaultErr is nil, else failed with vault_failed (the error itself is
// not kept). It is a no-op in any other state — e.g. the call ended while the
// vault was working.
func (m *Machine) Finish(vaultErr error) []Event {
	if m.state != StateTokenizing {
		return nil
	}
	if vaultErr != nil {
		return m.end(StateFailed, VaultFailed)
	}
	return m.end(StateTokenized, ReasonNone)
}

// Cancel ends the capture cancelled (agent or API); no-op once ended.
func (m *Machine) Cancel() []Event { return m.endIfLive(StateCancelled) }

// End ends the capture because the call ended; no-op once ended.
func (m *Machine) End() []Event { return m.endIfLive(StateCallEnded) }

// Abort ends a live capture failed with r: a check outside the machine
// (tonewall's own leak canary, an egress check) stopped it. Its digits are
// wiped as for every end; no-op once ended.
func (m *Machine) Abort(r Reason) []Event {
	if m.state.Terminal() {
		return nil
	}
	evs := m.end(StateFailed, r)
	evs[0].Field = "" // no field is at fault
	return evs
}

func (m *Machine) endIfLive(s State) []Event {
	if m.state.Terminal() {
		return nil
	}
	return m.end(s, ReasonNone)
}

// Wipe zeroes every collected digit, and the last four kept after a
// tokenized end. A capture wiped before it ended is cancelled: it has nothing
// left to go on with. Safe to call any number of times.
func (m *Machine) Wipe() {
	if !m.state.Terminal() {
		m.end(StateCancelled, ReasonNone)
	}
	m.wipeAll()
	m.last4 = [4]byte{}
}

func (m *Machine) wipeAll() {
	for i := range m.slots {
		m.slots[i].wipe()
	}
}

// end moves to a terminal state and wipes every digit; only a tokenized end
// keeps the brand and last four, for the result.
func (m *Machine) end(s State, r Reason) []Event {
	m.state, m.reason, m.confirming = s, r, false
	m.wipeAll()
	ev := Event{Type: EventState, State: s, Reason: r}
	if r != ReasonNone && r != VaultFailed {
		ev.Field = m.slots[m.cur].Name
	}
	if s == StateTokenized {
		ev.Brand, ev.Last4 = m.brand, m.lastFour()
	} else {
		m.last4 = [4]byte{}
	}
	return []Event{ev}
}

// Err says why the capture ended: a *FieldError when failed, ErrCancelled,
// ErrTimedOut or ErrCallEnded; nil while live or when tokenized.
func (m *Machine) Err() error {
	switch m.state {
	case StateFailed:
		return &FieldError{Field: m.failedField(), Reason: m.reason}
	case StateCancelled:
		return ErrCancelled
	case StateTimedOut:
		return ErrTimedOut
	case StateCallEnded:
		return ErrCallEnded
	}
	return nil
}

func (m *Machine) failedField() string {
	if m.reason == VaultFailed {
		return "vault"
	}
	return m.slots[m.cur].Name
}
