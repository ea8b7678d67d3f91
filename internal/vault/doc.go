// Package vault turns card data into tokens and back, behind one interface.
//
//	capture ──Request{PAN, Expiry, CVV}──▶ Vault.Tokenize ──▶ Result{Token, Brand, Last4}
//	api (admin, audited) ──token──▶ Forwarder ──▶ Vault.Detokenize + TakeCVV ──▶ POST to the processor
//	                                    ◀── Forwarded{Status, Body unless it may hold card data}
//
// Detokenization never hands a card to a caller: a [Forwarder]
// (detokenize-and-forward, the pattern of tokenization proxies) sends it to
// the one payment processor endpoint of vault.detokenize, and the caller
// gets only the processor's status and answer.
//
// The caller owns the Secrets in a Request and wipes them; a driver copies what
// it must keep and wipes its own copies. No error, log line or panic from this
// package carries a digit of card data.
//
// Drivers:
//
//   - local (the embedded default, [Local]): PAN and expiry sealed with
//     AES-256-GCM under a 32-byte key read from a file, stored in a bbolt file
//     under a data directory. The security code is never written to disk: it is
//     held in memory for a short TTL (one authorization) and handed out once by
//     [Local.TakeCVV].
//   - http ([HTTP]): an external tokenization service over HTTPS, with an OAuth2
//     client-credentials bearer token, optional mutual TLS, an Idempotency-Key
//     header, per-request timeouts, retries with backoff and jitter, and a
//     circuit breaker. Unreachable means [ErrUnavailable].
//
// Why bbolt for the local store: it is pure Go (no cgo, so the single static
// binary stays one file to ship), keeps the whole store in one file that is
// easy to back up and to set to mode 0600, gives ACID transactions (a token is
// handed out only after its record is fsynced, so it can always be
// detokenized), holds an exclusive file lock so two processes cannot share a
// store by mistake, and is maintained by the etcd project, which runs it in
// production at a scale far beyond a contact center's.
//
// Tokens (both drivers should keep this form, local guarantees it) are
// format-preserving: as long as the PAN, with the same last four digits, so an
// unchanged IVR or CRM that collects a card number accepts one. The rest is
// deliberately not a card number:
//
//   - the first digit is always 9. No scheme tonewall knows issues in 9
//     (ISO/IEC 7812 gives it to national use), so a token never looks like the
//     brand of the card it stands for, never equals a PAN, and card data
//     scanners (DLP tools that match IIN ranges plus Luhn) never flag one;
//   - the check digit is deliberately wrong: a token fails Luhn;
//   - the digits between are random (crypto/rand), so a token reveals nothing
//     about the card beyond its length and last four. Tokenizing the same card
//     twice under two capture ids gives two tokens; the same capture id always
//     gives the same token (idempotency).
//
// [IsToken] tells whether a string has that form.
package vault
