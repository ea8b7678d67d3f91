package dtmf

import (
	"strings"
	"testing"
)

// No error string in this package holds a digit, so none can ever be
// mistaken for (or carry) a key typed inside a window.
func TestErrorsHoldNoDigits(t *testing.T) {
	for _, err := range []error{ErrShortPayload, ErrBadEvent, ErrBadBody, ErrBadSignal, ErrBadDuration,
		ErrRedundancy, ErrNotWAV, ErrWAVFormat, ErrWAVTruncated, ErrBadFormat, ErrBadConfig, ErrLengthMismatch} {
		if strings.ContainsAny(err.Error(), "0123456789") {
			t.Errorf("error %q contains a digit", err)
		}
	}
}
