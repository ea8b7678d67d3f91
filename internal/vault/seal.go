package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"github.com/tonewall/tonewall/internal/card"
)

// sealVersion is the first byte of every sealed value, so the layout (or the
// key, once rotation exists) can change without guessing.
const sealVersion = 1

var errOpen = errors.New("vault: sealed record does not open (wrong key or corrupted store)")

// sealer encrypts records with AES-256-GCM. Each value is
// version(1) | nonce(12) | ciphertext+tag, with the record's token as
// additional data so a ciphertext moved to another token does not open.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("vault: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(rnd io.Reader, plain, aad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := io.ReadFull(rnd, out[1:]); err != nil {
		return nil, fmt.Errorf("vault: nonce randomness: %w", err)
	}
	return s.aead.Seal(out, out[1:], plain, aad), nil
}

// open returns the plaintext in a new slice the caller wipes.
func (s *sealer) open(sealed, aad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errOpen
	}
	plain, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, errOpen
	}
	return plain, nil
}

// encodeCard lays out len(pan) | pan | len(exp) | exp. The caller wipes it.
func encodeCard(pan, exp []byte) []byte {
	b := make([]byte, 0, 2+len(pan)+len(exp))
	b = append(b, byte(len(pan)))
	b = append(b, pan...)
	b = append(b, byte(len(exp)))
	return append(b, exp...)
}

// decodeCard copies the digits out of an encodeCard layout.
func decodeCard(b []byte) (card.PAN, card.Expiry, error) {
	if len(b) < 1 || len(b) < 2+int(b[0]) {
		return card.PAN{}, card.Expiry{}, errOpen
	}
	pan := b[1 : 1+int(b[0])]
	rest := b[1+int(b[0]):]
	if len(rest) != 1+int(rest[0]) {
		return card.PAN{}, card.Expiry{}, errOpen
	}
	return card.NewPAN(pan), card.NewExpiry(rest[1:]), nil
}

func recordAAD(token string) []byte { return []byte("tonewall/vault/v1 token " + token) }

var keyCheckAAD = []byte("tonewall/vault/v1 key check")
