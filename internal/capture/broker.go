package capture

import (
	"sync"
	"time"
)

// Event is what the control API streams: masked by construction (a digit
// count, never a digit; brand and last four once the PAN is valid).
type Event struct {
	Time      time.Time `json:"time"`
	CallID    string    `json:"call_id"`
	CaptureID string    `json:"capture_id"`
	Type      string    `json:"type"`            // prompt, digit, cleared, field_error, field_complete, state, duplicate
	Field     string    `json:"field,omitempty"` // the field concerned
	Count     int       `json:"count,omitempty"` // digits entered so far in the field
	Reason    string    `json:"reason,omitempty"`
	State     string    `json:"state,omitempty"`
	Brand     string    `json:"brand,omitempty"`
	Last4     string    `json:"last4,omitempty"`
	Token     string    `json:"token,omitempty"` // on the tokenized state
	Attempts  int       `json:"attempts_left,omitempty"`
}

// Broker fans events out to subscribers. A slow subscriber loses events
// rather than slowing a capture.
type Broker struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

func newBroker() *Broker { return &Broker{subs: map[chan Event]struct{}{}} }

// Subscribe returns a channel of events and the function that ends it.
func (b *Broker) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, ch)
			b.mu.Unlock()
		})
	}
}

func (b *Broker) publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}
