package vault

import (
	"bytes"
	"testing"

	"github.com/tonewall/tonewall/internal/card"
)

// FuzzParseCard feeds arbitrary detokenize answers: never a panic, and
// whatever is accepted is digits only.
func FuzzParseCard(f *testing.F) {
	f.Add([]byte(`{"pan":"4111111111111111","expiry":"1230"}`))
	f.Add([]byte(`{"pan":"4111111111111111","expiry":null}`))
	f.Add([]byte(`{"pan":""}`))
	f.Add([]byte(`{"pan":"\u0034"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		pan, exp, err := parseCard(b)
		if err != nil {
			return
		}
		for _, d := range [][]byte{pan.Bytes(), exp.Bytes()} {
			if len(bytes.Trim(d, "0123456789")) != 0 {
				t.Fatal("accepted a non-digit")
			}
		}
		if pan.Len() == 0 {
			t.Fatal("accepted an empty PAN")
		}
	})
}

// FuzzParseToken feeds arbitrary tokenize answers: never a panic, never a
// token that is a card number or holds the PAN.
func FuzzParseToken(f *testing.F) {
	f.Add([]byte(`{"token":"tok_1"}`))
	f.Add([]byte(`{"token":"4111111111111111"}`))
	f.Add([]byte(`{"token":"x4111111111111111y"}`))
	pan := card.NewPAN([]byte(testPAN))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := parseToken(b, pan)
		if err != nil {
			return
		}
		if bytes.Contains([]byte(tok), pan.Bytes()) || card.NewPAN([]byte(tok)).Validate() == nil {
			t.Fatal("accepted a card number as a token")
		}
	})
}
