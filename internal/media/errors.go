package media

import (
	"errors"
	"fmt"
)

// SDPError is a negotiation failure carrying the SIP status the B2BUA should
// answer with: 488 Not Acceptable Here for SDP we cannot accept, 503 Service
// Unavailable when no media port is free.
type SDPError struct {
	Code   int
	Reason string
	Err    error
}

func (e *SDPError) Error() string { return fmt.Sprintf("%d %s: %v", e.Code, e.Reason, e.Err) }

func (e *SDPError) Unwrap() error { return e.Err }

// ErrInactive is Session.Err after no media arrived for Config.Inactivity.
var ErrInactive = errors.New("media: inactivity timeout")

// ErrDTLS is Session.Err after a DTLS-SRTP handshake failed on a leg.
var ErrDTLS = errors.New("media: dtls-srtp handshake failed")

// Causes wrapped in SDPError; match them with errors.Is.
var (
	ErrBadSDP         = errors.New("media: malformed sdp")
	ErrNoAudio        = errors.New("media: no audio stream")
	ErrNoCommonCodec  = errors.New("media: no common codec")
	ErrSRTPRequired   = errors.New("media: srtp required but no acceptable crypto offered")
	ErrSRTPRefused    = errors.New("media: srtp offered but off for this trunk")
	ErrBadCrypto      = errors.New("media: answer crypto does not match the offer")
	ErrNoOffer        = errors.New("media: answer without a pending offer")
	ErrPortsExhausted = errors.New("media: no free rtp port")
	ErrClosed         = errors.New("media: session closed")
	ErrUnsupported    = errors.New("media: unsupported key exchange")
)

func notAcceptable(err error) error {
	return &SDPError{Code: 488, Reason: "Not Acceptable Here", Err: err}
}

func unavailable(err error) error {
	return &SDPError{Code: 503, Reason: "Service Unavailable", Err: err}
}
