package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Manager owns the port pool and every Session made from it.
type Manager struct {
	cfg              Config
	advertise        netip.Addr
	pool             *portPool
	id               *identity // DTLS certificate, shared by all sessions
	handshakeTimeout time.Duration
	log              *zap.Logger

	mu       sync.Mutex
	sessions map[*Session]struct{} // guarded by mu; removed on Session.Close
	closed   bool                  // guarded by mu
	ended    [2]LegStats           // guarded by mu: by leg, counts of the sessions closed
}

// NewManager validates cfg (filling defaults) and starts nothing.
func NewManager(cfg Config, log *zap.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	addr := netip.MustParseAddr(cfg.Address)
	id, err := newIdentity()
	if err != nil {
		return nil, err
	}
	return &Manager{
		cfg: cfg, advertise: netip.MustParseAddr(cfg.Advertise), log: log.Named("media"), id: id,
		handshakeTimeout: handshakeTimeout,
		pool:             newPortPool(addr.Unmap(), cfg.PortMin, cfg.PortMax, cfg.Drain),
		sessions:         map[*Session]struct{}{},
	}, nil
}

// NewSession prepares the media of call id; ports are taken at the first Offer.
func (m *Manager) NewSession(id string, carrier, cc LegPolicy) (*Session, error) {
	var pol [2]LegPolicy
	var err error
	if pol[Carrier], err = carrier.normalized(); err != nil {
		return nil, fmt.Errorf("media: carrier leg: %w", err)
	}
	if pol[ContactCenter], err = cc.normalized(); err != nil {
		return nil, fmt.Errorf("media: contact center leg: %w", err)
	}
	s := newSession(m, id, pol)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.sessions[s] = struct{}{}
	return s, nil
}

// PortsInUse counts ports held by open sessions (two per leg, RTP and RTCP,
// reserved even with rtcp-mux). It is 0 once every session is closed; ports
// still draining are not counted: see PortsDraining.
func (m *Manager) PortsInUse() int {
	n, _ := m.pool.stats()
	return n
}

// PortsDraining counts released ports still in their drain quarantine.
func (m *Manager) PortsDraining() int {
	_, n := m.pool.stats()
	return n
}

// PortErrors counts RTP port allocations that failed for another reason
// than every port being taken, such as running out of file descriptors.
func (m *Manager) PortErrors() uint64 { return m.pool.errs.Load() }

// PortsExhausted counts RTP port allocations refused because every port
// of media.port_min..port_max was held or resting (the call gets a 503).
func (m *Manager) PortsExhausted() uint64 { return m.pool.empty.Load() }

// Close closes every open session and refuses new ones.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	open := make([]*Session, 0, len(m.sessions))
	for s := range m.sessions {
		open = append(open, s)
	}
	m.mu.Unlock()
	var errs []error
	for _, s := range open {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// forget drops a closed session, whose relay has stopped, keeping its counts.
func (m *Manager) forget(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[s]; !ok {
		return
	}
	delete(m.sessions, s)
	for l := range m.ended {
		m.ended[l].add(s.stats[l].snapshot())
	}
}

// Stats sums the packet counters of every session since the Manager was
// made, by leg: those closed and those open now. Each count only grows.
func (m *Manager) Stats() [2]LegStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	sum := m.ended
	for s := range m.sessions {
		for l := range sum {
			sum[l].add(s.stats[l].snapshot())
		}
	}
	return sum
}

func randomSSRC() uint32 { return rand.Uint32() }
