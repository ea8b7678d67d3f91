package card

import "time"

// Expiry is an MMYY expiry date.
type Expiry struct{ Secret }

// NewExpiry copies MMYY digits into an Expiry.
func NewExpiry(digits []byte) Expiry { return Expiry{NewSecret(digits)} }

// ValidateFormat checks the MMYY form alone.
func (e Expiry) ValidateFormat() error {
	_, _, err := e.monthYear()
	return err
}

func (e Expiry) monthYear() (month, year int, err error) {
	d := e.Bytes()
	if len(d) != 4 || !allDigits(d) {
		return 0, 0, ErrExpiryFormat
	}
	month = int(d[0]-'0')*10 + int(d[1]-'0')
	year = 2000 + int(d[2]-'0')*10 + int(d[3]-'0')
	if month < 1 || month > 12 {
		return 0, 0, ErrExpiryFormat
	}
	return month, year, nil
}

// Validate checks the MMYY form and that the card is valid through the end
// of its expiry month, in now's location.
func (e Expiry) Validate(now time.Time) error {
	month, year, err := e.monthYear()
	if err != nil {
		return err
	}
	if year < now.Year() || (year == now.Year() && month < int(now.Month())) {
		return ErrExpired
	}
	return nil
}

// CVV is a card security code. It is never written to disk.
type CVV struct{ Secret }

// NewCVV copies digits into a CVV.
func NewCVV(digits []byte) CVV { return CVV{NewSecret(digits)} }

// Validate checks the code's length for the brand (4 for Amex, else 3).
func (c CVV) Validate(b Brand) error {
	d := c.Bytes()
	if !allDigits(d) {
		return ErrNotDigits
	}
	if len(d) != b.CVVLength() {
		return ErrCVVLength
	}
	return nil
}
