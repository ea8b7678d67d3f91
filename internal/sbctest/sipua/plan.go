package sipua

import (
	"time"

	"github.com/emiago/sipgo"
)

// Plan says how an agent answers an INVITE.
type Plan struct {
	Code      int           // final status; 0 = 200
	Trying    time.Duration // send a 100 Trying this long after the INVITE, before the rest; 0: none
	Ring      bool          // send 180 first
	NoSDP     bool          // answer 200 without SDP (only valid if the INVITE had an offer)
	Challenge string        // username:password to demand with a 401 first
	Delay     time.Duration
	Reliable  bool   // send 183 with SDP reliably (Require: 100rel) and wait for its PRACK
	SDP       []byte // the answer's body; nil: the agent's phone's (a call's own phone, say)
	// OnAnswer, if set, gets the dialog once the 200 is acknowledged, even
	// from a quiet agent: the dialog stays up until BYE. It runs on the
	// agent's handler goroutine and must not block.
	OnAnswer func(*sipgo.DialogServerSession)
}
