package collect

import (
	"errors"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{"card fields", Options{Fields: fields(KindPAN, KindExpiry, KindCVV, KindPostalCode)}, nil},
		{"digits", Options{Fields: []Field{{Kind: KindDigits, Name: "a", Min: 1, Max: 32}, {Kind: KindDigits, Name: "b", Min: 4, Max: 4}}}, nil},
		{"no fields", Options{}, ErrNoFields},
		{"unknown kind", Options{Fields: []Field{{Kind: "ssn"}}}, ErrUnknownKind},
		{"pan twice", Options{Fields: []Field{{Kind: KindPAN}, {Kind: KindPAN, Name: "pan2"}}}, ErrDuplicateField},
		{"same name", Options{Fields: []Field{{Kind: KindDigits, Name: "pan", Min: 1, Max: 2}, {Kind: KindPAN}}}, ErrDuplicateField},
		{"cvv before pan", Options{Fields: fields(KindCVV, KindPAN)}, ErrFieldOrder},
		{"digits without name", Options{Fields: []Field{{Kind: KindDigits, Min: 1, Max: 2}}}, ErrFieldLength},
		{"digits min 0", Options{Fields: []Field{{Kind: KindDigits, Name: "a", Max: 2}}}, ErrFieldLength},
		{"digits max < min", Options{Fields: []Field{{Kind: KindDigits, Name: "a", Min: 3, Max: 2}}}, ErrFieldLength},
		{"digits too long", Options{Fields: []Field{{Kind: KindDigits, Name: "a", Min: 1, Max: 33}}}, ErrFieldLength},
		{"unknown brand", Options{Fields: fields(KindPAN), Brands: []card.Brand{"rupay"}}, ErrUnknownBrand},
		{"negative attempts", Options{Fields: fields(KindPAN), MaxAttempts: -1}, ErrNegative},
		{"negative timeout", Options{Fields: fields(KindPAN), InterDigitTimeout: -time.Second}, ErrNegative},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	in := []Field{{Kind: KindPostalCode}, {Kind: KindPAN, Min: 3, Max: 4}}
	o, err := Options{Fields: in}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Fields: []Field{{KindPostalCode, "postal_code", 5, 5}, {KindPAN, "pan", 0, 0}},
		MaxAttempts: 3, FirstDigitTimeout: 15 * time.Second, InterDigitTimeout: 5 * time.Second,
		Skew: 60 * time.Millisecond, InfoSkew: 150 * time.Millisecond}
	if o.MaxAttempts != want.MaxAttempts || o.FirstDigitTimeout != want.FirstDigitTimeout ||
		o.InterDigitTimeout != want.InterDigitTimeout || o.Skew != want.Skew || o.InfoSkew != want.InfoSkew ||
		o.Fields[0] != want.Fields[0] || o.Fields[1] != want.Fields[1] || o.Timeout != 0 {
		t.Fatalf("got %+v", o)
	}
	if in[0].Name != "" {
		t.Fatal("caller's fields changed")
	}
}
