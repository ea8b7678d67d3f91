// Package card holds cardholder data while tonewall needs it, and nowhere else.
//
// Every value that may hold a digit typed inside a capture window is a Secret
// (or a PAN, Expiry or CVV built on one). A Secret's digits sit behind a pointer,
// so no formatting path prints them: fmt verbs, %#v, JSON, text and zap all
// give "[redacted]", and a struct that holds a Secret in an unexported field
// prints only an address. Wipe zeroes the digits in place; the owner calls it
// when the capture ends, whatever the end.
//
// The package is a leaf: dtmf, vault, capture and api import it, it imports
// nothing of tonewall.
package card
