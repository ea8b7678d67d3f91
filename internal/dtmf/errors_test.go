package dtmf

import (
	"fmt"
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

// Formatting a key, digit or event never prints the digit.
func TestKeysFormatMasked(t *testing.T) {
	for _, k := range Keys {
		for _, v := range []any{k, Digit{Key: k, Start: 1}, KeyEvent{Key: k}} {
			for _, verb := range []string{"%v", "%+v", "%s", "%#v"} {
				if s := fmt.Sprintf(verb, v); strings.ContainsRune(s, rune(k)) && !strings.ContainsRune(fmt.Sprintf(verb, maskedOf(v)), rune(k)) {
					t.Errorf("%s of %T prints the key: %s", verb, v, s)
				}
			}
		}
		if k.Char() != byte(k) {
			t.Errorf("Char of %d", k)
		}
	}
}

// maskedOf is v with its key replaced by one no digit can be confused
// with, so the check above ignores digits that come from other fields.
func maskedOf(v any) any {
	switch x := v.(type) {
	case Key:
		return Key(0)
	case Digit:
		x.Key = 0
		return x
	case KeyEvent:
		x.Key = 0
		return x
	}
	return v
}
