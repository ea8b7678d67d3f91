package media

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Session is the media of one call: two legs, each with its own ports,
// codecs and crypto. Once the first answer is in, it owns one goroutine per
// bound socket (2 to 4) plus an inactivity monitor; Close stops and joins them.
type Session struct {
	id  string
	m   *Manager
	log *zap.Logger

	mu      sync.Mutex   // guards negotiation state; never held during I/O
	legs    [2]*legState // by Side
	pending *offerState  // last offer not yet replaced or rolled back
	started bool
	closed  bool

	routes  [2]atomic.Pointer[route]    // by source leg; swapped on every answer
	latched [2]latch                    // by leg: observed source when LegPolicy.Latch
	links   [2]atomic.Pointer[dtlsLink] // by leg: DTLS-SRTP association
	inSSRC  [2]atomic.Uint32            // by leg: SSRC the leg sends with
	streams [2]atomic.Uint64            // by leg: renumbering of its RTP toward the other leg, for RTCP (see renumberer.mapping)
	held    atomic.Bool                 // some leg is not sendrecv: inactivity timer paused
	stats   [2]legCounters
	stage   atomic.Pointer[stageBox]
	sink    packetWriter // tests and benchmarks only: replaces the sockets for sending

	wg        sync.WaitGroup
	stop      chan struct{} // closed by Close
	done      chan struct{} // closed when the session ended by itself
	err       atomic.Pointer[error]
	closeOnce sync.Once
}

// legState is one leg's fixed resources plus what was negotiated on it.
type legState struct {
	policy LegPolicy
	ports  *portBlock
	origin sdpOrigin
	ssrc   uint32 // ours, toward this leg
	neg    negotiated
}

type latch struct {
	rtp, rtcp atomic.Pointer[netip.AddrPort]
}

func newSession(m *Manager, id string, pol [2]LegPolicy) *Session {
	s := &Session{
		id: id, m: m, stop: make(chan struct{}), done: make(chan struct{}),
		log: m.log.With(zap.String("call_id", id)),
	}
	for l := range s.legs {
		s.legs[l] = &legState{policy: pol[l], ssrc: randomSSRC(), origin: sdpOrigin{id: rand.Uint64N(1 << 62)}}
	}
	return s
}

// Done is closed when the session ended by itself (see Err).
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why the session ended by itself: ErrInactive, ErrDTLS (wrapped),
// or nil.
func (s *Session) Err() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Stats returns the packet counters of one leg.
func (s *Session) Stats(l Side) LegStats { return s.stats[l&1].snapshot() }

// SetStage installs st on the Carrier→ContactCenter direction, replacing any
// previous stage; nil removes it. Safe to call at any time from any goroutine;
// the next packet sees the change.
func (s *Session) SetStage(st Stage) {
	if st == nil {
		s.stage.Store(nil)
		return
	}
	s.stage.Store(&stageBox{st: st})
}

// Pipeline describes the path of packets from leg `from` to the other leg,
// for logs and tests, e.g.
// "carrier udp(192.0.2.1:4000) -> srtp-open(AES_CM_128_HMAC_SHA1_80) ->
// pt-map(0>0 101>96) -> dtmf-mask -> renumber -> srtp-seal(AEAD_AES_128_GCM) ->
// contact_center udp(198.51.100.2:5000)". It is "" before the first answer.
func (s *Session) Pipeline(from Side) string {
	rt := s.routes[from&1].Load()
	if rt == nil {
		return ""
	}
	stage := ""
	if box := s.stage.Load(); box != nil && from == Carrier {
		stage = box.st.String()
	}
	return rt.describe(stage)
}

// Codecs lists what leg l accepts from tonewall as negotiated by the last
// answer, as "name/rate" in its preference order, e.g. ["PCMU/8000",
// "telephone-event/8000"]. A Stage can tell from it whether the contact
// center takes RFC 4733 events or needs in-band tones.
func (s *Session) Codecs(l Side) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.legs[l&1].neg.send {
		out = append(out, fmt.Sprintf("%s/%d", c.Name, c.Rate))
	}
	return out
}

// Close stops the relay, waits for its goroutines and releases the ports.
// It is idempotent and safe to call concurrently.
func (s *Session) Close() error {
	s.closeOnce.Do(s.close)
	return nil
}

func (s *Session) close() {
	s.mu.Lock()
	s.closed, s.pending = true, nil
	s.mu.Unlock()
	close(s.stop)
	for i := range s.links {
		if d := s.links[i].Load(); d != nil {
			d.close()
		}
	}
	s.closeSockets()
	s.wg.Wait()
	for _, l := range s.legs {
		if l.ports != nil {
			s.m.pool.release(l.ports)
		}
	}
	s.m.forget(s)
}

// closeSockets unblocks the readers; ports stay reserved until release.
func (s *Session) closeSockets() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.legs {
		if l.ports != nil {
			l.ports.close()
		}
	}
}

// releasePorts gives back ports bound by a first offer that then failed,
// before any goroutine reads them; called with mu held.
func (s *Session) releasePorts() {
	for _, l := range s.legs {
		if l.ports != nil {
			s.m.pool.release(l.ports)
			l.ports = nil
		}
	}
}

// ensurePorts binds both legs' ports on first use; called with mu held.
func (s *Session) ensurePorts(from Side, mux bool) error {
	if s.legs[from].ports != nil {
		return nil
	}
	a, err := s.m.pool.alloc(mux)
	if err != nil {
		return err
	}
	b, err := s.m.pool.alloc(false)
	if err != nil {
		s.m.pool.release(a)
		return err
	}
	s.legs[from].ports, s.legs[from.Other()].ports = a, b
	return nil
}

// start launches the readers and the monitor once; called with mu held.
func (s *Session) start() {
	if s.started {
		return
	}
	s.started = true
	for l, ls := range s.legs {
		s.spawn(newPump(s, Side(l), ls.ports.rtp, false).run)
		if ls.ports.rtcp != nil {
			s.spawn(newPump(s, Side(l), ls.ports.rtcp, true).run)
		}
	}
	if s.m.cfg.Inactivity > 0 {
		s.spawn(s.watchInactivity)
	}
}

func (s *Session) spawn(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// watchInactivity ends the session when no packet arrived from any leg for
// Config.Inactivity while both legs were sendrecv.
func (s *Session) watchInactivity() {
	limit := s.m.cfg.Inactivity
	tick := time.NewTicker(min(max(limit/4, 5*time.Millisecond), time.Second))
	defer tick.Stop()
	last, since := s.received(), time.Now()
	for {
		select {
		case <-s.stop:
			return
		case now := <-tick.C:
			if n := s.received(); n != last || s.held.Load() {
				last, since = n, now
			} else if now.Sub(since) >= limit {
				s.endBy(ErrInactive)
				return
			}
		}
	}
}

func (s *Session) received() uint64 {
	return s.stats[Carrier].received.Load() + s.stats[ContactCenter].received.Load()
}

// endBy records why the session ended by itself and stops relaying; the
// owner still calls Close to release the ports.
func (s *Session) endBy(err error) {
	if !s.err.CompareAndSwap(nil, &err) {
		return
	}
	s.log.Info("media session ended", zap.Error(err))
	s.closeSockets()
	close(s.done)
}
