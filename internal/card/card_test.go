package card

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tonewall/tonewall/internal/sbctest"
)

const testPAN = "4111111111111111"

type holder struct {
	pan    PAN
	PAN    PAN
	Ptr    *PAN
	cvv    CVV
	Expiry Expiry
}

// everyOutput formats v every way tonewall's code could: fmt verbs,
// sbctest.Encoded (JSON, slog, zap) and zap's field map.
func everyOutput(t *testing.T, v any) string {
	t.Helper()
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		fmt.Fprintf(&out, verb+"\n", v)
	}
	out.WriteString(sbctest.Encoded(t, v))
	core, logs := observer.New(zapcore.DebugLevel)
	zap.New(core).Info("m", zap.Any("any", v), zap.Reflect("reflect", v))
	for _, e := range logs.All() {
		fmt.Fprintln(&out, e.ContextMap())
	}
	return out.String()
}

func TestFormattingNeverShowsDigits(t *testing.T) {
	p := NewPAN([]byte(testPAN))
	c := NewCVV([]byte("737"))
	e := NewExpiry([]byte("1230"))
	values := map[string]any{
		"PAN":      p,
		"*PAN":     &p,
		"Secret":   p.Secret,
		"CVV":      c,
		"Expiry":   e,
		"holder":   holder{pan: p, PAN: p, Ptr: &p, cvv: c, Expiry: e},
		"*holder":  &holder{pan: p, PAN: p, Ptr: &p, cvv: c, Expiry: e},
		"slice":    []PAN{p},
		"map":      map[string]CVV{"c": c},
		"anyslice": []any{p, c, e},
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			out := everyOutput(t, v)
			secrets := []string{testPAN, "111111", "1111", "737", "1230", "34313131"}
			if name == "holder" || name == "*holder" {
				// Unexported fields print as pointer addresses, whose
				// digits may by chance contain a short code.
				secrets = []string{testPAN, "34313131"}
			}
			for _, secret := range secrets {
				if bytes.Contains([]byte(out), []byte(secret)) {
					t.Fatalf("output holds %q:\n%s", secret, out)
				}
			}
			if !bytes.Contains([]byte(out), []byte(Redacted)) && name != "holder" && name != "*holder" {
				t.Fatalf("output never says %s:\n%s", Redacted, out)
			}
		})
	}
}

func TestWipeZeroesInPlace(t *testing.T) {
	p := NewPAN([]byte(testPAN))
	raw := p.Bytes()[:cap(p.Bytes())]
	p.Wipe()
	if p.Len() != 0 {
		t.Fatalf("Len after Wipe = %d", p.Len())
	}
	for i, b := range raw {
		if b != 0 {
			t.Fatalf("byte %d not wiped", i)
		}
	}
	var zero Secret
	zero.Wipe() // zero value: no panic
}

func TestAppendBounded(t *testing.T) {
	var s Secret
	for i := 0; i < maxDigits; i++ {
		if !s.Append('1') {
			t.Fatalf("append %d refused", i)
		}
	}
	if s.Append('1') {
		t.Fatal("append past maxDigits accepted")
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"4111111111111111", true},
		{"4111111111111112", false},
		{"378282246310005", true},
		{"6011111111111117", true},
		{"79927398713", true},
		{"79927398710", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := Luhn([]byte(tt.in)); got != tt.want {
			t.Errorf("Luhn(len %d) = %v, want %v", len(tt.in), got, tt.want)
		}
	}
	for _, prefix := range []string{"411111111111111", "37828224631000", "7992739871"} {
		full := append([]byte(prefix), LuhnDigit([]byte(prefix)))
		if !Luhn(full) {
			t.Errorf("LuhnDigit for prefix of len %d gives an invalid number", len(prefix))
		}
	}
}

func TestBrandAndValidate(t *testing.T) {
	tests := []struct {
		name  string
		pan   string
		brand Brand
		err   error
	}{
		{"visa 16", "4111111111111111", Visa, nil},
		{"visa 13", "4222222222222", Visa, nil},
		{"mastercard 5x", "5555555555554444", Mastercard, nil},
		{"mastercard 2x", "2223003122003222", Mastercard, nil},
		{"amex", "378282246310005", Amex, nil},
		{"amex wrong length", "3782822463100051", Amex, ErrPANLength},
		{"discover", "6011111111111117", Discover, nil},
		{"discover 65", "6500000000000002", Discover, nil},
		{"jcb", "3530111333300000", JCB, nil},
		{"diners", "30569309025904", Diners, nil},
		{"unionpay", "6200000000000005", UnionPay, nil},
		{"maestro", "6759649826438453", Maestro, nil},
		{"luhn fails", "4111111111111112", Visa, ErrLuhn},
		{"unknown", "9111111111111111", Unknown, ErrUnknownBrand},
		{"not digits", "41111111111#1111", Visa, ErrNotDigits},
		{"mastercard 15", "555555555555444", Mastercard, ErrPANLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPAN([]byte(tt.pan))
			if got := p.Brand(); got != tt.brand {
				t.Errorf("Brand = %q, want %q", got, tt.brand)
			}
			if err := p.Validate(); !errors.Is(err, tt.err) {
				t.Errorf("Validate = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestMaskedAndLast4(t *testing.T) {
	p := NewPAN([]byte(testPAN))
	if got := p.Masked(); got != "411111******1111" {
		t.Fatalf("Masked = %q", got)
	}
	if got := p.Last4(); got != "1111" {
		t.Fatalf("Last4 = %q", got)
	}
	short := NewPAN([]byte("1234"))
	if short.Last4() != "" || short.Masked() != "****" {
		t.Fatal("a too-short number must not be shown")
	}
}

func TestExpiry(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in  string
		err error
	}{
		{"1126", nil},
		{"1226", nil},
		{"0130", nil},
		{"1026", ErrExpired},
		{"1225", ErrExpired},
		{"1326", ErrExpiryFormat},
		{"0026", ErrExpiryFormat},
		{"126", ErrExpiryFormat},
		{"12a6", ErrExpiryFormat},
	}
	for _, tt := range tests {
		if err := NewExpiry([]byte(tt.in)).Validate(now); !errors.Is(err, tt.err) {
			t.Errorf("case %q: Validate = %v, want %v", tt.in, err, tt.err)
		}
	}
}

func TestCVV(t *testing.T) {
	if err := NewCVV([]byte("123")).Validate(Visa); err != nil {
		t.Fatal(err)
	}
	if err := NewCVV([]byte("1234")).Validate(Amex); err != nil {
		t.Fatal(err)
	}
	if err := NewCVV([]byte("123")).Validate(Amex); !errors.Is(err, ErrCVVLength) {
		t.Fatalf("3-digit Amex code: %v", err)
	}
	if err := NewCVV([]byte("12")).Validate(Visa); !errors.Is(err, ErrCVVLength) {
		t.Fatalf("2-digit code: %v", err)
	}
}

func TestEqual(t *testing.T) {
	a, b, c := NewPAN([]byte(testPAN)), NewPAN([]byte(testPAN)), NewPAN([]byte("4111111111111112"))
	if !a.Equal(b.Secret) || a.Equal(c.Secret) {
		t.Fatal("Equal wrong")
	}
}

func TestMaxLength(t *testing.T) {
	for b, want := range map[Brand]int{Amex: 15, Mastercard: 16, Visa: 19, Unknown: 0} {
		if got := b.MaxLength(); got != want {
			t.Errorf("%s.MaxLength() = %d, want %d", b, got, want)
		}
	}
}

func TestExpiryFormatOnly(t *testing.T) {
	if err := NewExpiry([]byte("0101")).ValidateFormat(); err != nil {
		t.Fatalf("expired but well-formed: %v", err)
	}
	if err := NewExpiry([]byte("1301")).ValidateFormat(); !errors.Is(err, ErrExpiryFormat) {
		t.Fatalf("month 13: %v", err)
	}
}

func TestHoldsPAN(t *testing.T) {
	for _, c := range []struct {
		run  string
		want bool
	}{
		{"4111111111111111", true},
		{"0074111111111111111", true},  // inside a longer run
		{"4111111111111112", false},    // Luhn fails, and no shorter stretch passes
		{"9111111111111111", false},    // no brand starts with 9
		{"41111111111", false},         // too short
		{"4111-1111-1111-1111", false}, // not one run of digits
		{"", false},
	} {
		if got := HoldsPAN([]byte(c.run)); got != c.want {
			t.Errorf("HoldsPAN(%q) = %v, want %v", c.run, got, c.want)
		}
	}
}
