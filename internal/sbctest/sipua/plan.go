package sipua

import "time"

// Plan says how an agent answers an INVITE.
type Plan struct {
	Code      int    // final status; 0 = 200
	Ring      bool   // send 180 first
	NoSDP     bool   // answer 200 without SDP (only valid if the INVITE had an offer)
	Challenge string // username:password to demand with a 401 first
	Delay     time.Duration
	Reliable  bool // send 183 with SDP reliably (Require: 100rel) and wait for its PRACK
}
