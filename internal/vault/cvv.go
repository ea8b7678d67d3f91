package vault

import (
	"sync"
	"time"

	"github.com/tonewall/tonewall/internal/card"
)

// cvvStore holds security codes in memory only, each for ttl, then wipes it.
// Each entry owns a timer (time.AfterFunc: no goroutine until it fires);
// close stops them all and wipes every code.
type cvvStore struct {
	ttl time.Duration

	mu     sync.Mutex
	m      map[string]*cvvEntry // guarded by mu; entries leave on take, expiry or close
	closed bool                 // guarded by mu
}

type cvvEntry struct {
	cvv   card.CVV
	timer *time.Timer
}

func newCVVStore(ttl time.Duration) *cvvStore {
	return &cvvStore{ttl: ttl, m: make(map[string]*cvvEntry)}
}

// put keeps a copy of c for token, replacing (and wiping) any earlier one.
func (s *cvvStore) put(token string, c card.CVV) {
	e := &cvvEntry{cvv: card.NewCVV(c.Bytes())}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		e.cvv.Wipe()
		return
	}
	if old := s.m[token]; old != nil {
		old.timer.Stop()
		old.cvv.Wipe()
	}
	s.m[token] = e
	e.timer = time.AfterFunc(s.ttl, func() { s.expire(token, e) })
}

func (s *cvvStore) expire(token string, e *cvvEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[token] == e {
		delete(s.m, token)
		e.cvv.Wipe()
	}
}

// take removes the code for token and hands it to the caller, who wipes it.
func (s *cvvStore) take(token string) (card.CVV, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[token]
	if e == nil {
		return card.CVV{}, false
	}
	delete(s.m, token)
	e.timer.Stop()
	return e.cvv, true
}

func (s *cvvStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *cvvStore) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for token, e := range s.m {
		e.timer.Stop()
		e.cvv.Wipe()
		delete(s.m, token)
	}
}
