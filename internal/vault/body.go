package vault

import (
	"encoding/json"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/tonewall/tonewall/internal/card"
)

var errBodyWiped = errors.New("vault: request body wiped")

// secretBody is a request body holding card digits. net/http may still read
// a body after Do returns (it closes bodies on its own goroutine), so reads
// and the final wipe share a lock: once wiped, every reader gets an error
// instead of zeros or a data race.
//
// This wipes tonewall's copy. net/http and crypto/tls copy what they send
// into buffers of their own, which no caller can reach.
type secretBody struct {
	mu    sync.Mutex
	buf   []byte // guarded by mu
	wiped bool   // guarded by mu
}

// reader returns a fresh reader over the body, one per attempt.
func (s *secretBody) reader() io.ReadCloser { return &secretReader{s: s} }

func (s *secretBody) wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	wipe(s.buf)
	s.wiped = true
}

type secretReader struct {
	s   *secretBody
	off int
}

func (r *secretReader) Read(p []byte) (int, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.s.wiped {
		return 0, errBodyWiped
	}
	if r.off >= len(r.s.buf) {
		return 0, io.EOF
	}
	n := copy(p, r.s.buf[r.off:])
	r.off += n
	return n, nil
}

func (r *secretReader) Close() error { return nil }

// tokenizeBody builds the JSON request by hand, so the digits go straight
// from the Secrets into one buffer the caller wipes:
//
//	{"capture_id":"…","call_id":"…","pan":"…","expiry":"MMYY","cvv":"…"}
//
// expiry and cvv are left out when empty. The digits were validated, so they
// need no escaping.
func tokenizeBody(req Request) *secretBody {
	buf := []byte(`{"capture_id":`)
	buf = appendJSONString(buf, req.CaptureID)
	if req.CallID != "" {
		buf = append(buf, `,"call_id":`...)
		buf = appendJSONString(buf, req.CallID)
	}
	// Grow once, before the first digit: append must never reallocate
	// (and leave behind an unwiped copy) after the digits are in.
	buf = slices.Grow(buf, len(`,"pan":"","expiry":"","cvv":""}`)+req.PAN.Len()+req.Expiry.Len()+req.CVV.Len())
	buf = appendDigits(buf, "pan", req.PAN.Secret)
	if req.Expiry.Len() > 0 {
		buf = appendDigits(buf, "expiry", req.Expiry.Secret)
	}
	if req.CVV.Len() > 0 {
		buf = appendDigits(buf, "cvv", req.CVV.Secret)
	}
	buf = append(buf, '}')
	return &secretBody{buf: buf}
}

func appendDigits(buf []byte, name string, s card.Secret) []byte {
	buf = append(buf, `,"`...)
	buf = append(buf, name...)
	buf = append(buf, `":"`...)
	buf = append(buf, s.Bytes()...)
	return append(buf, '"')
}

func appendJSONString(buf []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(buf, b...)
}
