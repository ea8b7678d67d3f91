package collect

import (
	"encoding/json"
	"fmt"

	"github.com/tonewall/tonewall/internal/card"
)

// Status is a snapshot for the control API, masked by construction: it is
// built from names, counts, the brand and the last four of a valid PAN.
type Status struct {
	State        State         `json:"state"`
	Reason       Reason        `json:"reason,omitempty"`
	Field        string        `json:"field,omitempty"`      // being collected
	Confirming   bool          `json:"confirming,omitempty"` // the PAN's second entry
	Digits       int           `json:"digits"`               // entered in the current field: a count
	AttemptsLeft int           `json:"attempts_left"`        // of the current field, this one included
	Brand        card.Brand    `json:"brand,omitempty"`      // once the PAN is valid
	Last4        string        `json:"last4,omitempty"`      // once the PAN is valid
	Fields       []FieldStatus `json:"fields"`
}

// FieldStatus is one field's progress.
type FieldStatus struct {
	Name         string `json:"name"`
	Kind         Kind   `json:"kind"`
	Complete     bool   `json:"complete"`
	AttemptsLeft int    `json:"attempts_left"`
}

// Status returns the current snapshot.
func (m *Machine) Status() Status {
	st := Status{State: m.state, Reason: m.reason, Last4: m.lastFour()}
	if st.Last4 != "" {
		st.Brand = m.brand
	}
	if m.state == StateCollecting {
		s, e := m.entry()
		st.Field, st.Confirming, st.Digits = s.Name, m.confirming, e.Len()
		st.AttemptsLeft = m.opts.MaxAttempts - s.failures
	}
	st.Fields = make([]FieldStatus, len(m.slots))
	for i := range m.slots {
		s := &m.slots[i]
		st.Fields[i] = FieldStatus{Name: s.Name, Kind: s.Kind, Complete: s.done,
			AttemptsLeft: m.opts.MaxAttempts - s.failures}
	}
	return st
}

// State is the capture's state.
func (m *Machine) State() State { return m.state }

// lastFour is the last four of the valid PAN, or "" (digits are never 0x00).
func (m *Machine) lastFour() string {
	if m.last4[0] == 0 {
		return ""
	}
	return string(m.last4[:])
}

// Formatting a Machine, by value or pointer, with any verb, shows its state
// and current field only; JSON gives its Status.
func (m Machine) String() string {
	return "collect.Machine(" + string(m.state) + " " + m.slotName() + ")"
}
func (m Machine) GoString() string             { return m.String() }
func (m Machine) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(m.String())) }
func (m Machine) MarshalJSON() ([]byte, error) { return json.Marshal(m.Status()) }

func (m *Machine) slotName() string {
	if m.cur < len(m.slots) {
		return m.slots[m.cur].Name
	}
	return ""
}
