package vault

import (
	"bytes"
	"encoding/json"

	"github.com/tonewall/tonewall/internal/card"
)

// holdsCardData reports whether b (a payment processor's answer) may show
// card data, and so must not be shown: the PAN, the expiry's four digits
// (MMYY or MM/YY), the security code as a run of digits of its own, or any
// run of 13 to 19 digits that passes Luhn. A run may be split by single
// spaces or dashes ("4111 1111 1111 1111"). pan, exp and cvv may be empty.
// A JSON answer is also checked decoded, so "\u0034111…" hides nothing.
//
// It errs on the side of withholding: an answer that merely contains a
// Luhn-valid 16-digit reference is withheld too.
func holdsCardData(b, pan, exp, cvv []byte) bool {
	if scanCardData(b, pan, exp, cvv) {
		return true
	}
	if !json.Valid(b) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep long numbers' digits as they are written
	var v any
	if err := dec.Decode(&v); err != nil {
		return true
	}
	plain, err := json.Marshal(v)
	defer wipe(plain)
	return err != nil || scanCardData(plain, pan, exp, cvv)
}

func scanCardData(b, pan, exp, cvv []byte) bool {
	if len(pan) > 0 && containsSpaced(b, pan) {
		return true
	}
	if len(exp) == 4 {
		slashed := [5]byte{exp[0], exp[1], '/', exp[2], exp[3]}
		found := bytes.Contains(b, exp) || bytes.Contains(b, slashed[:])
		wipe(slashed[:])
		if found {
			return true
		}
	}
	if len(cvv) > 0 {
		for i := 0; i < len(b); {
			if !isDigit(b[i]) {
				i++
				continue
			}
			end := card.DigitEnd(b, i)
			if bytes.Equal(b[i:end], cvv) {
				return true
			}
			i = end
		}
	}
	return card.HoldsCardNumber(b)
}

// holdsCardNumber reports whether s holds a run of 13 to 19 digits that
// passes Luhn, such as a PAN typed where a token was expected.
func holdsCardNumber(s string) bool { return card.HoldsCardNumber([]byte(s)) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isRunSeparator(c byte) bool { return c == ' ' || c == '-' }

// containsSpaced reports whether the digits of want appear in b, in order,
// with at most single spaces or dashes between them.
func containsSpaced(b, want []byte) bool {
	for i := range b {
		if b[i] != want[0] {
			continue
		}
		j, k := i, 0
		for j < len(b) && k < len(want) {
			switch {
			case b[j] == want[k]:
				j++
				k++
			case k > 0 && isRunSeparator(b[j]) && j+1 < len(b) && isDigit(b[j+1]):
				j++
			default:
				j = len(b)
			}
		}
		if k == len(want) {
			return true
		}
	}
	return false
}
