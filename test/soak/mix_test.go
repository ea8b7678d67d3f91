package soak

import (
	"math/rand/v2"
	"time"
)

// How a call ends.
const (
	endCallerBye = "answered, caller BYE"
	endCCBye     = "answered, contact-center BYE"
	endCancel    = "CANCEL before answer"
	endNoAck     = "caller gone before ACK"
)

// How a capture on an answered call ends, and the state tonewall must give it.
const (
	capTokenized = "tokenized"
	capCallerBye = "caller BYE mid-capture"
	capCCBye     = "contact-center BYE mid-capture"
	capCancelled = "cancelled by the agent"
)

var captureState = map[string]string{capTokenized: "tokenized", capCallerBye: "call_ended",
	capCCBye: "call_ended", capCancelled: "cancelled"}

// plan is what one call of the soak does.
type plan struct {
	end     string
	capture string        // "": no capture window
	inband  bool          // the card is keyed as tones, not RFC 4733 events
	hold    time.Duration // talk before and after the capture, or the whole call
	cancel  time.Duration // after the INVITE reached the contact center (endCancel)
}

// draw picks a call: a tenth cancelled while ringing, one in twenty whose
// caller never acknowledges the answer, and of the answered ones 40% with
// a capture window, keyed half as events, half as tones.
func draw(r *rand.Rand, hold time.Duration) plan {
	p := plan{hold: hold + time.Duration(r.Int64N(int64(hold))), inband: r.IntN(2) == 0}
	switch x := r.Float64(); {
	case x < 0.10:
		p.end, p.cancel = endCancel, time.Duration(50+r.IntN(250))*time.Millisecond
	case x < 0.15:
		p.end = endNoAck
	case x < 0.15+0.85*0.4:
		p.end, p.capture = endCallerBye, pick(r, []weighted{{capTokenized, 5}, {capCallerBye, 2}, {capCCBye, 2}, {capCancelled, 1}})
		if p.capture == capCCBye {
			p.end = endCCBye
		}
		p.hold /= 4 // the keying makes the call long enough
	default:
		p.end = pick(r, []weighted{{endCallerBye, 3}, {endCCBye, 2}})
	}
	return p
}

type weighted struct {
	name   string
	weight int
}

// pick draws one name, by weight.
func pick(r *rand.Rand, ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.weight
	}
	x := r.IntN(total)
	for _, w := range ws {
		if x -= w.weight; x < 0 {
			return w.name
		}
	}
	return ws[len(ws)-1].name
}
