package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/card"
)

// keepaliveEvery is how often an idle event stream gets a comment line.
const keepaliveEvery = 15 * time.Second

// eventSource is where event streams read from: the capture service's
// broker.
type eventSource interface {
	Subscribe() (<-chan capture.Event, func())
}

// streamGate counts the event streams open, in all and per API key.
type streamGate struct {
	maxTotal, maxPerKey int
	mu                  sync.Mutex
	total               int
	perKey              map[string]int // keys with a stream open only; guarded by mu
}

func newStreamGate(maxTotal, maxPerKey int) *streamGate {
	return &streamGate{maxTotal: maxTotal, maxPerKey: maxPerKey, perKey: map[string]int{}}
}

// Reasons a stream is refused, as metric labels.
const (
	refusedPerKey = "per_key"
	refusedTotal  = "total"
)

// acquire takes a slot for key, or says which cap refused it.
func (g *streamGate) acquire(key string) (refused string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.perKey[key] >= g.maxPerKey:
		return refusedPerKey
	case g.total >= g.maxTotal:
		return refusedTotal
	}
	g.total++
	g.perKey[key]++
	return ""
}

func (g *streamGate) release(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if g.perKey[key]--; g.perKey[key] <= 0 {
		delete(g.perKey, key)
	}
}

// openStream takes a stream slot for the request's key, or answers 429
// (this key's cap) or 503 (the total) itself.
func (s *Server) openStream(w http.ResponseWriter, key string) (release func(), ok bool) {
	switch s.streams.acquire(key) {
	case refusedPerKey:
		s.metrics.streamsRefused.WithLabelValues(refusedPerKey).Inc()
		writeProblem(w, http.StatusTooManyRequests, "too_many_event_streams",
			fmt.Sprintf("this API key has %d event streams open, api.max_event_streams_per_key; close one first", s.streams.maxPerKey))
		return nil, false
	case refusedTotal:
		s.metrics.streamsRefused.WithLabelValues(refusedTotal).Inc()
		writeProblem(w, http.StatusServiceUnavailable, "event_streams_full",
			fmt.Sprintf("%d event streams are open, api.max_event_streams; try again later", s.streams.maxTotal))
		return nil, false
	}
	s.metrics.streamsOpen.Inc()
	return func() {
		s.streams.release(key)
		s.metrics.streamsOpen.Dec()
	}, true
}

// events streams masked capture events as server-sent events, within the
// stream caps. Each write gets api.write_timeout to be taken: a client that
// stops reading is dropped, not waited on. Each event passes the egress
// check; on a hit it is not sent and the stream ends. After a reload has
// swapped the keys, nothing more is sent on a stream whose key is no longer
// in force for the route: it ends.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	if s.source == nil {
		writeProblem(w, http.StatusServiceUnavailable, "events_unavailable", "no capture service to stream events of")
		return
	}
	release, ok := s.openStream(w, PrincipalOf(r.Context()).Name)
	if !ok {
		return
	}
	defer release()
	ch, stop := s.source.Subscribe()
	defer stop()
	out := &sse{w: streaming(w), timeout: s.cfg.WriteTimeout}
	out.rc = http.NewResponseController(out.w)
	out.w.Header().Set("Content-Type", "text/event-stream")
	out.w.Header().Set("Cache-Control", "no-cache")
	keepalive := time.NewTicker(keepaliveEvery)
	defer keepalive.Stop()
	msg := []byte(": tonewall events\n\n")
	keys := s.keys.Load()
	for {
		if k := s.keys.Load(); k != keys {
			keys = k
			if s.revoked(r, RoleAgent) {
				s.metrics.streamsDropped.WithLabelValues(keyRevoked).Inc()
				return
			}
		}
		if err := out.send(msg); err != nil {
			s.metrics.streamsDropped.WithLabelValues(dropReason(err)).Inc()
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			msg = []byte(": keepalive\n\n")
		case e := <-ch:
			b, _ := json.Marshal(e)
			if card.HoldsCardNumber(b) {
				clear(b)
				s.metrics.streamsDropped.WithLabelValues(egressBlocked).Inc()
				s.egressHit(r.Pattern, e.CaptureID)
				return
			}
			msg = fmt.Appendf(nil, "event: capture\ndata: %s\n\n", b)
		}
	}
}

// sse writes one message at a time, each with its own write deadline.
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (o *sse) send(msg []byte) error {
	if err := o.rc.SetWriteDeadline(time.Now().Add(o.timeout)); err != nil {
		return err
	}
	if _, err := o.w.Write(msg); err != nil {
		return err
	}
	return o.rc.Flush()
}

// keyRevoked is the drop reason of a stream whose key a reload removed.
const keyRevoked = "key_revoked"

// revoked reports whether the key r was made with no longer opens need.
func (s *Server) revoked(r *http.Request, need Role) bool {
	token, _ := bearer(r.Header.Get("Authorization"))
	p, ok := s.lookup(token)
	return !ok || !p.Role.allows(need)
}

func dropReason(err error) string {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "write_timeout"
	}
	return "write_error"
}
