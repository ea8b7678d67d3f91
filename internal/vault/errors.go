package vault

import "errors"

// Errors of every driver. None carries card data.
var (
	// ErrUnavailable: the vault could not be reached or did not answer in
	// time. The capture ends failed with reason vault_unavailable.
	ErrUnavailable = errors.New("vault: unavailable")
	// ErrInvalidRequest: the request is missing a field or holds card data
	// that does not validate; it wraps the card package's reason.
	ErrInvalidRequest = errors.New("vault: invalid request")
	// ErrNotFound: no such token.
	ErrNotFound = errors.New("vault: token not found")
	// ErrIdempotencyConflict: the capture id was tokenized before with
	// different card data.
	ErrIdempotencyConflict = errors.New("vault: capture id already used for different card data")
	// ErrNoCVV: no security code is held for the token (never given, already
	// taken, or its TTL ran out).
	ErrNoCVV = errors.New("vault: no security code held for token")
	// ErrClosed: the vault was closed.
	ErrClosed = errors.New("vault: closed")
	// ErrRejected: the external vault refused the request (HTTP 4xx); retrying
	// will not help.
	ErrRejected = errors.New("vault: request rejected")
	// ErrBadResponse: the external vault answered 2xx with something that is
	// not a usable answer (not JSON, no token, a token that is a card number).
	ErrBadResponse = errors.New("vault: unusable response from external vault")
	// ErrProcessorUnavailable: detokenize-and-forward could not reach the
	// payment processor, or it did not answer in time. The card may or may
	// not have reached it; the security code is spent either way.
	ErrProcessorUnavailable = errors.New("vault: payment processor unreachable or did not answer in time")
)
