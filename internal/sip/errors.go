package sip

import (
	"errors"
	"fmt"

	"github.com/tonewall/tonewall/internal/media"
)

// StatusError is a failure that maps to a SIP response code.
type StatusError struct {
	Code   int
	Reason string
	Err    error
}

func (e *StatusError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%d %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("%d %s: %v", e.Code, e.Reason, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }

func statusErr(code int, reason string, err error) error {
	return &StatusError{Code: code, Reason: reason, Err: err}
}

// statusOf maps an error to the response for it: a StatusError, a media
// SDPError (anything with Code/Reason), or 500.
func statusOf(err error) (int, string) {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code, se.Reason
	}
	var me *media.SDPError
	if errors.As(err, &me) {
		return me.Code, me.Reason
	}
	return 500, "Server Internal Error"
}

var (
	errNoTrunk      = errors.New("sip: request from no configured trunk")
	errNoClientCert = errors.New("sip: trunk requires a verified TLS client certificate")
	errNoRoute      = errors.New("sip: no route for trunk")
	errDraining     = errors.New("sip: draining, no new calls")
	errCapped       = errors.New("sip: over a call cap")
	errEgress       = errors.New("sip: message held what looks like a card number: not sent")
	errAllTargets   = errors.New("sip: every target failed")
)
