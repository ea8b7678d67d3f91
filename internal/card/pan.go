package card

import "errors"

// Validation errors. They never carry digits.
var (
	ErrNotDigits    = errors.New("card: not all digits")
	ErrPANLength    = errors.New("card: card number length is not valid for its brand")
	ErrLuhn         = errors.New("card: card number fails the Luhn check")
	ErrUnknownBrand = errors.New("card: card number matches no known brand")
	ErrExpiryFormat = errors.New("card: expiry is not MMYY")
	ErrExpired      = errors.New("card: card has expired")
	ErrCVVLength    = errors.New("card: security code has the wrong length")
)

// PAN is a primary account number.
type PAN struct{ Secret }

// NewPAN copies digits into a PAN.
func NewPAN(digits []byte) PAN { return PAN{NewSecret(digits)} }

// Brand identifies the scheme from the IIN ranges, or Unknown.
func (p PAN) Brand() Brand {
	if r := lookup(p.Bytes()); r != nil {
		return r.brand
	}
	return Unknown
}

// Validate checks digits, brand, length for the brand and Luhn.
func (p PAN) Validate() error {
	d := p.Bytes()
	if !allDigits(d) {
		return ErrNotDigits
	}
	r := lookup(d)
	if r == nil {
		return ErrUnknownBrand
	}
	if len(d) < r.min || len(d) > r.max {
		return ErrPANLength
	}
	if !Luhn(d) {
		return ErrLuhn
	}
	return nil
}

// HoldsPAN reports whether any 12- to 19-digit stretch of d (all decimal
// digits stretches only) validates as a card number: a known brand, a length
// for it, and Luhn. Scanners use it to find a card number inside a longer
// run of digits; tokens are drawn so that it is false for them.
func HoldsPAN(d []byte) bool {
	for n := 12; n <= 19 && n <= len(d); n++ {
		for i := 0; i+n <= len(d); i++ {
			w := d[i : i+n]
			if !allDigits(w) {
				continue
			}
			if r := lookup(w); r != nil && n >= r.min && n <= r.max && Luhn(w) {
				return true
			}
		}
	}
	return false
}

// Last4 returns the last four digits, which PCI DSS allows to be shown.
func (p PAN) Last4() string {
	d := p.Bytes()
	if len(d) < 13 { // too short to be a PAN: showing four would show most of it
		return ""
	}
	return string(d[len(d)-4:])
}

// Masked returns first six and last four with the middle starred, the most
// PCI DSS allows to be displayed, e.g. "411111******1111".
func (p PAN) Masked() string {
	d := p.Bytes()
	if len(d) < 13 {
		return stars(len(d))
	}
	return string(d[:6]) + stars(len(d)-10) + string(d[len(d)-4:])
}

func stars(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '*'
	}
	return string(b)
}

// Luhn reports whether the digits pass the mod-10 check.
func Luhn(d []byte) bool {
	return len(d) > 0 && luhnSum(d, 1)%10 == 0
}

// LuhnDigit returns the check digit that makes d followed by it pass Luhn:
// once the check digit is appended every position shifts by one, so the
// doubled digits of d are the even ones counted from its right.
func LuhnDigit(d []byte) byte {
	return byte('0' + (10-luhnSum(d, 0)%10)%10)
}

// luhnSum adds the digits of d from the right, doubling (and casting out
// nines from) those whose position from the right has parity doubled.
func luhnSum(d []byte, doubled int) int {
	sum := 0
	for i := range d {
		v := int(d[len(d)-1-i] - '0')
		if i%2 == doubled {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum
}

func allDigits(d []byte) bool {
	if len(d) == 0 {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
