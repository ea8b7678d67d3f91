package sip

import (
	"errors"
	"fmt"
	"slices"
)

// trunkTable is what a reload replaces as a whole: the trunks with their
// routes and the limits that can change live. A TLS handshake reads it too,
// to ask for a client certificate only from a mutual_tls trunk's sources
// (handshakeTLS). It is immutable once published; a request reads the
// table once (s.table()) and keeps that copy for its whole handling, so a
// call admitted on a trunk keeps that trunk (its targets, policy and
// credentials) to its end, and a new call sees the table of the moment.
type trunkTable struct {
	trunks []*trunk
	limits Limits
}

// table is the trunk table in force. Everything that matches a request to
// a trunk or walks the trunks' targets reads it here, each time, and never
// keeps it beyond one request or one tick.
func (s *Server) table() *trunkTable { return s.tbl.Load() }

// buildTable makes a table from a validated configuration over the bound
// listeners.
func (s *Server) buildTable(cfg *Config) (*trunkTable, error) {
	ls := s.listenerMap()
	for _, tc := range cfg.Trunks {
		if ls[tc.Listener] == nil {
			return nil, fmt.Errorf("trunk %s: listener %s is not one tonewall listens on", tc.Name, tc.Listener)
		}
	}
	trunks, err := buildTrunks(cfg, ls)
	if err != nil {
		return nil, err
	}
	return &trunkTable{trunks: trunks, limits: cfg.SIP.Limits}, nil
}

// ErrNotRunning is returned by Reload before the listeners are bound.
var ErrNotRunning = errors.New("sip: not running yet")

// Reload puts cfg's trunks, routes and live limits (sip.limits max_calls,
// retry_after, max_connections and max_connections_per_source) in force
// at once, without touching a call in progress. The listeners must be
// those tonewall bound: cfg.SIP.Listeners is compared and a difference
// refused. Admission counts continue across it: the calls admitted before
// count against the new caps, by trunk name. cfg must be validated.
func (s *Server) Reload(cfg Config) error {
	select {
	case <-s.ready:
	default:
		return ErrNotRunning
	}
	if !slices.Equal(cfg.SIP.Listeners, s.cfg.SIP.Listeners) {
		return errors.New("sip.listeners: needs a restart")
	}
	t, err := s.buildTable(&cfg)
	if err != nil {
		return err
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.tbl.Store(t)
	s.admitted.reconfigure(t.limits.MaxCalls, t.trunks)
	s.conns.setCaps(t.limits.MaxConnections, t.limits.MaxConnsPerSource)
	s.health.sync(t.trunks)
	return nil
}
