package vault

import (
	"context"
	"fmt"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

// Vault tokenizes card data. Implementations are safe for concurrent use.
type Vault interface {
	// Tokenize stores the card and returns its token. A second call with the
	// same CaptureID returns the same token (or ErrIdempotencyConflict if the
	// card data differ). The vault keeps no reference to req's Secrets.
	Tokenize(ctx context.Context, req Request) (Result, error)
	// Detokenize returns the card behind a token. The caller owns and wipes
	// the returned Secrets. The control API allows it to admins only and
	// audits every call.
	Detokenize(ctx context.Context, token string) (card.PAN, card.Expiry, error)
	// Close releases the driver and wipes what it holds in memory. It is
	// idempotent.
	Close() error
}

// CVVHolder is implemented by drivers that keep the security code in memory
// for one authorization instead of passing it on ([Local]).
type CVVHolder interface {
	// TakeCVV hands over the security code held for token, once: the vault
	// forgets it and the caller wipes it after use.
	TakeCVV(token string) (card.CVV, error)
}

// Request is one card to tokenize. CaptureID is the idempotency key; CallID is
// kept for correlation. Expiry and CVV may be empty when a capture did not ask
// for them.
type Request struct {
	CaptureID string
	CallID    string
	PAN       card.PAN
	Expiry    card.Expiry
	CVV       card.CVV
}

// Result is what may be shown of a tokenized card.
type Result struct {
	Token string     `json:"token"`
	Brand card.Brand `json:"brand"`
	Last4 string     `json:"last4"`
}

// validate checks the request's form. Expired cards are the capture's
// business, not the vault's: only the MMYY form is checked here.
func (r Request) validate() error {
	if r.CaptureID == "" {
		return fmt.Errorf("%w: capture id is empty", ErrInvalidRequest)
	}
	if err := r.PAN.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	if r.Expiry.Len() > 0 {
		// The zero time is before every year, so only the form is checked.
		if err := r.Expiry.Validate(time.Time{}); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
	}
	if r.CVV.Len() > 0 {
		if err := r.CVV.Validate(r.PAN.Brand()); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
	}
	return nil
}

func resultFor(token string, pan card.PAN) Result {
	return Result{Token: token, Brand: pan.Brand(), Last4: pan.Last4()}
}
