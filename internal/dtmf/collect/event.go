package collect

import "github.com/tonewall/tonewall/internal/card"

// State is where a capture is. Names are those of the control API.
type State string

const (
	StateIdle       State = "idle"       // New, before Start
	StateCollecting State = "collecting" // prompting for and collecting fields
	StateTokenizing State = "tokenizing" // every field valid; the caller tokenizes, then Finish
	StateTokenized  State = "tokenized"  // terminal: Finish(nil)
	StateFailed     State = "failed"     // terminal: attempts exhausted, or Finish(err)
	StateCancelled  State = "cancelled"  // terminal: Cancel or Wipe
	StateTimedOut   State = "timed_out"  // terminal: Options.Timeout passed
	StateCallEnded  State = "call_ended" // terminal: End
)

// Terminal reports whether no more input is taken and every digit is wiped.
func (s State) Terminal() bool {
	switch s {
	case StateTokenized, StateFailed, StateCancelled, StateTimedOut, StateCallEnded:
		return true
	}
	return false
}

// EventType says what happened.
type EventType string

const (
	EventPrompt    EventType = "prompt"         // ask for Field (Confirm: key the PAN again); Attempt, AttemptsLeft
	EventDigit     EventType = "digit"          // a digit went into Field; Count is the digits entered so far
	EventCleared   EventType = "cleared"        // '*' emptied the entry of Field
	EventError     EventType = "field_error"    // Field failed with Reason; AttemptsLeft after it; a prompt or the end follows
	EventComplete  EventType = "field_complete" // Field is valid; for the PAN: Brand and Last4
	EventState     EventType = "state"          // the capture moved to State (with Reason when failed)
	EventDuplicate EventType = "duplicate"      // a press from Source repeated one already taken, and was dropped
)

// Event is what the capture reports to the driver, the control API and the
// IVR. It holds names, counts, a brand and the last four digits of a valid
// PAN: never any other digit. Brand is also set on an invalid_card_type error
// (so the IVR can say which brand is not accepted).
type Event struct {
	Type         EventType  `json:"type"`
	Field        string     `json:"field,omitempty"`
	Confirm      bool       `json:"confirm,omitempty"`
	Count        int        `json:"count,omitempty"`
	Attempt      int        `json:"attempt,omitempty"`
	AttemptsLeft int        `json:"attempts_left,omitempty"`
	Reason       Reason     `json:"reason,omitempty"`
	State        State      `json:"state,omitempty"`
	Brand        card.Brand `json:"brand,omitempty"`
	Last4        string     `json:"last4,omitempty"`
	Source       Source     `json:"source,omitempty"`
}

// Err is the event's failure as a *FieldError, or nil.
func (e Event) Err() error {
	if e.Reason == ReasonNone {
		return nil
	}
	return &FieldError{Field: e.Field, Reason: e.Reason}
}
