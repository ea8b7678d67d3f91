package sip

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// nonceLife bounds how long a digest challenge may be answered.
const nonceLife = 5 * time.Minute

// challengeError asks the caller to authenticate (401 with the header).
type challengeError struct{ header string }

func (e *challengeError) Error() string { return "sip: digest authentication required" }

// authenticate checks a request's digest credentials against the trunk's
// inbound_auth; with none configured every request passes.
func (s *Server) authenticate(req *sip.Request, t *trunk) error {
	a := t.cfg.InboundAuth
	if a == nil {
		return nil
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		return s.challenge(a.Realm, false)
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Username != a.Username || cred.Realm != a.Realm {
		return s.challenge(a.Realm, false)
	}
	if !s.nonceValid(cred.Nonce) {
		return s.challenge(a.Realm, true)
	}
	want, err := digest.Digest(&digest.Challenge{Realm: a.Realm, Nonce: cred.Nonce, Opaque: cred.Opaque, Algorithm: cred.Algorithm, QOP: qops(cred.QOP)},
		digest.Options{Method: string(req.Method), URI: cred.URI, Username: a.Username, Password: a.Password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil || subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 {
		return statusErr(403, "Forbidden", errors.New("sip: wrong digest credentials"))
	}
	return nil
}

func qops(q string) []string {
	if q == "" {
		return nil
	}
	return []string{q}
}

// challenge builds a 401 with a fresh stateless nonce.
func (s *Server) challenge(realm string, stale bool) error {
	ch := digest.Challenge{Realm: realm, Nonce: s.newNonce(time.Now()), Algorithm: "MD5", Stale: stale}
	return &StatusError{Code: 401, Reason: "Unauthorized", Err: &challengeError{header: ch.String()}}
}

// newNonce is a timestamp and its HMAC: verifiable without server state.
func (s *Server) newNonce(now time.Time) string {
	b := make([]byte, 8, 8+sha256.Size)
	binary.BigEndian.PutUint64(b, uint64(now.Unix()))
	m := hmac.New(sha256.New, s.nonceKey)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b))
}

func (s *Server) nonceValid(n string) bool {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 8+sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, s.nonceKey)
	m.Write(b[:8])
	if !hmac.Equal(m.Sum(nil), b[8:]) {
		return false
	}
	age := time.Since(time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0))
	return age >= -time.Minute && age < nonceLife
}

// authRetry answers a trunk's challenge to an in-dialog request once.
func (s *Server) authRetry(ctx context.Context, req *sip.Request, res *sip.Response, t *trunk) (*sip.Response, error) {
	a := t.cfg.OutboundAuth
	req.RemoveHeader("Via")
	return s.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: a.Username, Password: a.Password})
}
