package collect

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

// Kind is what a field collects; it picks the validation and completion rules.
type Kind string

const (
	KindPAN        Kind = "pan"         // 13–19 digits, Luhn, known and accepted brand
	KindExpiry     Kind = "expiry"      // MMYY, not before the current month
	KindCVV        Kind = "cvv"         // the PAN brand's length (3, 4 for Amex)
	KindPostalCode Kind = "postal_code" // Min..Max digits (default 5..5)
	KindDigits     Kind = "digits"      // Min..Max digits, Name required
)

// MaxFieldDigits is the longest a postal_code or digits field may be.
const MaxFieldDigits = 32

const (
	panMin    = 13
	panMax    = 19
	expiryLen = 4
)

// Field describes one field of a capture. Name defaults to the Kind; Min and
// Max apply to postal_code and digits fields only.
type Field struct {
	Kind     Kind
	Name     string
	Min, Max int
}

// Options configure one capture. Zero values take the documented defaults.
type Options struct {
	Fields            []Field
	Brands            []card.Brand  // accepted brands; empty accepts every known brand
	ConfirmPAN        bool          // key the PAN twice; the second entry must equal the first
	MaxAttempts       int           // per field; default 3
	FirstDigitTimeout time.Duration // from a prompt to the first digit; default 15s
	InterDigitTimeout time.Duration // between digits; default 5s
	Timeout           time.Duration // whole capture, from Start; 0 means none
	Skew              time.Duration // duplicate tolerance between media sources; default 60ms
	InfoSkew          time.Duration // duplicate tolerance when one side is SIP INFO; default 150ms
}

// Defaults.
const (
	DefaultMaxAttempts       = 3
	DefaultFirstDigitTimeout = 15 * time.Second
	DefaultInterDigitTimeout = 5 * time.Second
	DefaultSkew              = 60 * time.Millisecond
	DefaultInfoSkew          = 150 * time.Millisecond
)

// withDefaults validates o and returns a copy with defaults filled in.
func (o Options) withDefaults() (Options, error) {
	if o.MaxAttempts < 0 || o.FirstDigitTimeout < 0 || o.InterDigitTimeout < 0 ||
		o.Timeout < 0 || o.Skew < 0 || o.InfoSkew < 0 {
		return o, ErrNegative
	}
	o.MaxAttempts = cmp.Or(o.MaxAttempts, DefaultMaxAttempts)
	o.FirstDigitTimeout = cmp.Or(o.FirstDigitTimeout, DefaultFirstDigitTimeout)
	o.InterDigitTimeout = cmp.Or(o.InterDigitTimeout, DefaultInterDigitTimeout)
	o.Skew = cmp.Or(o.Skew, DefaultSkew)
	o.InfoSkew = cmp.Or(o.InfoSkew, DefaultInfoSkew)
	for _, b := range o.Brands {
		if !slices.Contains(card.Brands, b) {
			return o, fmt.Errorf("%w %q", ErrUnknownBrand, string(b))
		}
	}
	fields, err := normalizeFields(o.Fields)
	o.Fields = fields
	return o, err
}

// normalizeFields copies the fields, fills names and lengths, and checks
// them: known kinds, unique names, each card kind at most once, cvv after pan.
func normalizeFields(in []Field) ([]Field, error) {
	if len(in) == 0 {
		return nil, ErrNoFields
	}
	out := make([]Field, len(in))
	seen := map[string]bool{}
	for i, f := range in {
		f, err := normalizeField(f)
		if err != nil {
			return nil, err
		}
		if seen[f.Name] || (f.Kind != KindDigits && seen["kind:"+string(f.Kind)]) {
			return nil, fmt.Errorf("field %q: %w", f.Name, ErrDuplicateField)
		}
		seen[f.Name], seen["kind:"+string(f.Kind)] = true, true
		if f.Kind == KindPAN && seen["kind:"+string(KindCVV)] {
			return nil, ErrFieldOrder
		}
		out[i] = f
	}
	return out, nil
}

func normalizeField(f Field) (Field, error) {
	switch f.Kind {
	case KindPAN, KindExpiry, KindCVV:
		f.Name = cmp.Or(f.Name, string(f.Kind))
		f.Min, f.Max = 0, 0
		return f, nil
	case KindPostalCode:
		f.Name = cmp.Or(f.Name, string(f.Kind))
		if f.Min == 0 && f.Max == 0 {
			f.Min, f.Max = 5, 5
		}
	case KindDigits:
	default:
		return f, fmt.Errorf("field %q: %w %q", f.Name, ErrUnknownKind, string(f.Kind))
	}
	if f.Name == "" || f.Min < 1 || f.Max < f.Min || f.Max > MaxFieldDigits {
		return f, fmt.Errorf("field %q: %w", f.Name, ErrFieldLength)
	}
	return f, nil
}
