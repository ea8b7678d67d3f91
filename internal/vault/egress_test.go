package vault

import (
	"crypto/rand"
	"testing"

	"github.com/tonewall/tonewall/internal/card"
)

// TestTokensPassTheEgressCheck: the egress check stops any message holding a
// Luhn-valid 13–19-digit run, so no token tonewall issues may look like one.
func TestTokensPassTheEgressCheck(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	pan := []byte("4111111111111111111")
	for i := range n {
		l := 13 + i%7
		tok, err := newToken(pan[:l], rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if card.HoldsCardNumber([]byte(`{"token":"` + tok + `","last4":"` + tok[l-4:] + `"}`)) {
			t.Fatalf("token %d (%d digits) matched the egress check", i, l)
		}
	}
}
