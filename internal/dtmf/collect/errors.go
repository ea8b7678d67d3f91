package collect

import "errors"

// Reason says why a field entry or a capture failed. Reasons are the names
// the control API and events report; they never carry digits.
type Reason string

const (
	ReasonNone          Reason = ""
	InvalidCardNumber   Reason = "invalid_card_number"   // length, Luhn or brand length
	InvalidCardType     Reason = "invalid_card_type"     // unknown or not accepted brand
	InvalidExpiry       Reason = "invalid_expiry"        // not MMYY, or in the past
	InvalidSecurityCode Reason = "invalid_security_code" // wrong length for the brand
	InvalidDigits       Reason = "invalid_digits"        // postal_code or digits field out of min/max
	Mismatch            Reason = "mismatch"              // PAN confirmation differs from the first entry
	Timeout             Reason = "timeout"               // first-digit or inter-digit timeout
	VaultFailed         Reason = "vault_failed"          // Finish was given an error
)

// Error makes a Reason the error a FieldError unwraps to.
func (r Reason) Error() string { return "collect: " + string(r) }

// End errors: what Machine.Err reports for the ends that are not a field failure.
var (
	ErrCancelled = errors.New("collect: capture cancelled")
	ErrTimedOut  = errors.New("collect: capture timed out")
	ErrCallEnded = errors.New("collect: call ended during capture")
)

// API errors.
var (
	ErrNotCollecting   = errors.New("collect: capture is not collecting")
	ErrNotReady        = errors.New("collect: capture is not ready for tokenizing")
	ErrUnknownField    = errors.New("collect: no such field in this capture")
	ErrFieldNotReached = errors.New("collect: field not reached yet")
)

// Options errors, wrapped with the field's name (config, never digits).
var (
	ErrNoFields       = errors.New("collect: no fields")
	ErrUnknownKind    = errors.New("collect: unknown field kind")
	ErrDuplicateField = errors.New("collect: duplicate field")
	ErrFieldOrder     = errors.New("collect: cvv must come after pan")
	ErrFieldLength    = errors.New("collect: bad min/max length")
	ErrUnknownBrand   = errors.New("collect: unknown brand")
	ErrNegative       = errors.New("collect: negative attempts or duration")
)

// FieldError is a failure of one field: its name and the reason, nothing else.
type FieldError struct {
	Field  string
	Reason Reason
}

func (e *FieldError) Error() string { return "collect: field " + e.Field + ": " + string(e.Reason) }

// Unwrap gives the reason, so that errors.Is(err, InvalidExpiry) finds it.
func (e *FieldError) Unwrap() error {
	if e.Reason == ReasonNone {
		return nil
	}
	return e.Reason
}
