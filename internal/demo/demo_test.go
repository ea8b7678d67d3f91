package demo

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tonewall/tonewall/internal/vault"
)

// TestDemo runs `tonewall demo` and checks its story: both captures
// tokenize, the contact center gets neither events nor decodable tones, and
// the output never holds the card beyond first six and last four.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := Run(ctx, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	if n := strings.Count(s, ": tokenized, brand visa, last four 1111"); n != 2 {
		t.Fatalf("want 2 tokenized captures, got %d:\n%s", n, s)
	}
	if n := strings.Count(s, "0 telephone-event packets, 0 keys decodable"); n != 2 {
		t.Fatalf("the contact center got digits in a window:\n%s", s)
	}
	if !strings.Contains(s, "Searched for the card in all of it: not found") {
		t.Fatalf("search result missing:\n%s", s)
	}
	// Tokens keep the last four and are otherwise random: blank them so a
	// token that happens to hold "111111" is not taken for the card.
	s = regexp.MustCompile(`[0-9]{13,19}`).ReplaceAllStringFunc(s, func(m string) string {
		if vault.IsToken(m) {
			return "[token]"
		}
		return m
	})
	for _, secret := range []string{testPAN, testPAN[6:12], testExpiry} {
		if strings.Contains(s, secret) {
			t.Fatalf("demo output holds %q:\n%s", secret, s)
		}
	}
}
