package card

import (
	"fmt"
	"log/slog"

	"go.uber.org/zap/zapcore"
)

// Redacted is what every formatting of a Secret prints.
const Redacted = "[redacted]"

// Secret is a buffer of secret digits whose formatting is masked.
// The zero value is empty and ready to use. A Secret must not be copied after
// first use (copies share the digits; Wipe on one wipes both).
type Secret struct{ p *secretBuf }

type secretBuf struct{ b []byte }

// maxDigits bounds every Secret: no field tonewall collects is longer.
const maxDigits = 32

// NewSecret returns a Secret holding a copy of b.
func NewSecret(b []byte) Secret {
	var s Secret
	for _, c := range b {
		s.Append(c)
	}
	return s
}

// Append adds one byte; it reports false (and drops the byte) when full.
func (s *Secret) Append(c byte) bool {
	if s.p == nil {
		s.p = &secretBuf{b: make([]byte, 0, maxDigits)}
	}
	if len(s.p.b) == maxDigits {
		return false
	}
	s.p.b = append(s.p.b, c)
	return true
}

// Len is the number of digits held. Counts are safe to show; digits are not.
func (s Secret) Len() int {
	if s.p == nil {
		return 0
	}
	return len(s.p.b)
}

// Bytes returns the digits themselves. The slice aliases the Secret: use it
// at once, never keep it, log it or put it in an error.
func (s Secret) Bytes() []byte {
	if s.p == nil {
		return nil
	}
	return s.p.b
}

// Wipe overwrites the digits with zeros and empties the Secret.
func (s *Secret) Wipe() {
	if s.p == nil {
		return
	}
	b := s.p.b[:cap(s.p.b)]
	for i := range b {
		b[i] = 0
	}
	s.p.b = s.p.b[:0]
}

// Equal reports whether two Secrets hold the same digits, in constant time
// for equal lengths.
func (s Secret) Equal(o Secret) bool {
	a, b := s.Bytes(), o.Bytes()
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := range a {
		d |= a[i] ^ b[i]
	}
	return d == 0
}

func (Secret) String() string               { return Redacted }
func (Secret) GoString() string             { return Redacted }
func (Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(Redacted)) }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
func (Secret) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (Secret) MarshalLogObject(e zapcore.ObjectEncoder) error {
	e.AddString("value", Redacted)
	return nil
}
