package vault

import (
	"errors"
	"fmt"
	"io"

	"github.com/tonewall/tonewall/internal/card"
)

// tokenFirstDigit starts every token: no card scheme issues in 9 (see doc.go).
const tokenFirstDigit = '9'

// Token lengths follow PAN lengths (card.PAN.Validate allows 12 to 19).
const (
	minTokenLen = 12
	maxTokenLen = 19
)

// IsToken reports whether s has the form of a tonewall token: 12 to 19 digits,
// starting with 9, failing Luhn. It says nothing of whether a vault holds it.
func IsToken(s string) bool {
	if len(s) < minTokenLen || len(s) > maxTokenLen || s[0] != tokenFirstDigit {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return !card.Luhn([]byte(s))
}

// newToken makes a token for pan: 9, random digits from rnd, pan's last four,
// with one random digit changed if the whole happens to pass Luhn. A draw
// in which some shorter stretch of digits would pass for a card number (about
// 7 % of 16-digit draws) is drawn again: scanners that look for card numbers
// inside digit runs — the audit log's, a contact center's DLP — must not
// mistake a token for one.
func newToken(pan []byte, rnd io.Reader) (string, error) {
	n := len(pan)
	if n < minTokenLen || n > maxTokenLen {
		return "", fmt.Errorf("%w: card number length", ErrInvalidRequest)
	}
	t := make([]byte, n)
	for range maxTokenDraws {
		t[0] = tokenFirstDigit
		if err := randomDigits(t[1:n-4], rnd); err != nil {
			return "", fmt.Errorf("vault: token randomness: %w", err)
		}
		copy(t[n-4:], pan[n-4:])
		if card.Luhn(t) {
			// Changing one digit always changes the Luhn sum mod 10: both the
			// plain and the doubled digit maps are permutations of 0-9.
			i := n - 5
			t[i] = '0' + (t[i]-'0'+1)%10
		}
		if !card.HoldsPAN(t) {
			return string(t), nil
		}
	}
	return "", errors.New("vault: no token free of card-like digit runs in 64 draws")
}

// maxTokenDraws bounds newToken's redraws; 64 failures in a row would take
// a broken random source.
const maxTokenDraws = 64

// randomDigits fills dst with uniform decimal digits, by rejection sampling
// (bytes of 250 and above would bias 0-5).
func randomDigits(dst []byte, rnd io.Reader) error {
	var buf [32]byte
	for i := 0; i < len(dst); {
		if _, err := io.ReadFull(rnd, buf[:]); err != nil {
			return err
		}
		for _, b := range buf {
			if i == len(dst) {
				break
			}
			if b < 250 {
				dst[i] = '0' + b%10
				i++
			}
		}
	}
	return nil
}
