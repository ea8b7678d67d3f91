package dtmf

import "errors"

// Errors never carry a key, a digit or a payload byte: inside a capture
// window those are card data.
var (
	ErrShortPayload   = errors.New("dtmf: telephone-event payload too short")
	ErrBadEvent       = errors.New("dtmf: telephone-event code is not a keypad key")
	ErrBadBody        = errors.New("dtmf: malformed SIP INFO DTMF body")
	ErrBadSignal      = errors.New("dtmf: SIP INFO signal is not a keypad key")
	ErrBadDuration    = errors.New("dtmf: SIP INFO duration is not a number in range")
	ErrRedundancy     = errors.New("dtmf: malformed redundant (RED) payload header")
	ErrNotWAV         = errors.New("dtmf: not a RIFF/WAVE file")
	ErrWAVFormat      = errors.New("dtmf: unsupported WAV format (want linear PCM, float, mu-law or A-law)")
	ErrWAVTruncated   = errors.New("dtmf: WAV file truncated")
	ErrBadFormat      = errors.New("dtmf: unknown raw format (want ulaw, alaw or signed linear)")
	ErrBadConfig      = errors.New("dtmf: invalid configuration")
	ErrLengthMismatch = errors.New("dtmf: output buffer length differs from input")
)
