package collect

import (
	"slices"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

// slot is one field of a running capture and the only place its digits live.
// The entry being keyed is value (or confirm, for the PAN's second entry):
// digits go straight into the Secret that is later handed out, so no copy of
// them is ever made and Wipe reaches every byte.
type slot struct {
	Field
	value    card.Secret
	confirm  card.Secret
	done     bool
	failures int
}

func (s *slot) wipe() {
	s.value.Wipe()
	s.confirm.Wipe()
}

// full reports whether the entry e cannot take another digit, so the field
// completes without '#'. PAN rule: at 19 digits, or at 13+ digits when the
// brand's longest length is reached (Amex 15, Mastercard 16); brands with
// variable lengths (Visa 13–19, Discover, JCB, …) need '#' below 19. The PAN
// confirmation completes at the first entry's length. cvv: the brand's length
// (4 when the capture has no PAN).
func (m *Machine) full(s *slot, e *card.Secret) bool {
	n := e.Len()
	switch s.Kind {
	case KindPAN:
		if m.confirming {
			return n == s.value.Len() || n == panMax
		}
		return n == panMax || (n >= panMin && panLongest(card.PAN{Secret: *e}.Brand(), n))
	case KindExpiry:
		return n == expiryLen
	case KindCVV:
		return n == m.cvvMax()
	}
	return n == s.Max
}

func panLongest(b card.Brand, n int) bool {
	return b != card.Unknown && b.LengthOK(n) && !b.LengthOK(n+1)
}

func (m *Machine) cvvMax() int {
	if m.brand != card.Unknown {
		return m.brand.CVVLength()
	}
	return 4
}

// check validates a completed entry; brand is set for the PAN.
func (m *Machine) check(s *slot, now time.Time) (Reason, card.Brand) {
	n := s.value.Len()
	switch s.Kind {
	case KindPAN:
		return checkPAN(card.PAN{Secret: s.value}, m.opts.Brands)
	case KindExpiry:
		return reasonIf(card.Expiry{Secret: s.value}.Validate(now) != nil, InvalidExpiry), card.Unknown
	case KindCVV:
		if m.brand == card.Unknown { // no PAN in this capture
			return reasonIf(n < 3 || n > 4, InvalidSecurityCode), card.Unknown
		}
		return reasonIf(card.CVV{Secret: s.value}.Validate(m.brand) != nil, InvalidSecurityCode), card.Unknown
	}
	return reasonIf(n < s.Min || n > s.Max, InvalidDigits), card.Unknown
}

// checkPAN: a number of the wrong length, failing Luhn, or of the wrong length
// for its brand is invalid_card_number; a well-formed number (13–19 digits,
// Luhn) whose IIN is no known brand, or whose brand is not accepted, is
// invalid_card_type. 12-digit Maestro, which internal/card allows, is refused:
// the design says 13–19.
func checkPAN(p card.PAN, accepted []card.Brand) (Reason, card.Brand) {
	n := p.Len()
	if n < panMin || n > panMax || !card.Luhn(p.Bytes()) {
		return InvalidCardNumber, card.Unknown
	}
	b := p.Brand()
	if b == card.Unknown {
		return InvalidCardType, card.Unknown
	}
	if p.Validate() != nil {
		return InvalidCardNumber, card.Unknown
	}
	if len(accepted) > 0 && !slices.Contains(accepted, b) {
		return InvalidCardType, b
	}
	return ReasonNone, b
}

func reasonIf(bad bool, r Reason) Reason {
	if bad {
		return r
	}
	return ReasonNone
}
