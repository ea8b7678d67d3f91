// Package api is tonewall's control API over HTTP: health, and (with a
// bearer API key whose SHA-256 is configured, and the role for the route)
// the calls in progress and the trunks' posture. Captures and events join it with the capture path.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/sip"
)

// Status is what the API needs to know of the rest of tonewall.
type Status interface {
	Ready() bool // listeners bound and not draining
	ActiveCalls() int
	Calls() []sip.CallInfo
	Call(id string) (sip.CallInfo, bool) // by tonewall call id or contact-center Call-ID
	Trunks() []sip.TrunkInfo             // posture and target health, in configuration order
}

// Server serves the control API on one listener.
type Server struct {
	addr     string
	status   Status
	log      *zap.Logger
	http     *http.Server
	ln       net.Listener
	keys     atomic.Pointer[[]key] // swapped whole by SetKeys
	captures *capture.Service
	base     context.Context // request contexts derive from it: ended on shutdown, which ends event streams
	detok    detokenizer     // set by SetDetokenize before Run
	refusals *refusalGate    // unauthenticated refusals into the audit log at a bounded rate
	stop     context.CancelFunc

	cfg     Config // its bounds filled with defaults
	metrics *edgeMetrics
	streams *streamGate
	source  eventSource   // nil without a capture service
	failer  captureFailer // nil unless the capture service can fail a capture closed
	routes  []string      // the patterns served, as "METHOD /path"
}

// New binds nothing; Listen binds, Run serves. /metrics serves reg, in which
// the other parts register their own series.
func New(cfg Config, st Status, caps *capture.Service, reg *prometheus.Registry, log *zap.Logger) *Server {
	cfg.SetDefaults()
	s := &Server{addr: cfg.Address, status: st, log: log, captures: caps, refusals: newRefusalGate(),
		cfg: cfg, metrics: newEdgeMetrics(reg), streams: newStreamGate(cfg.MaxEventStreams, cfg.MaxEventStreamsPerKey)}
	s.SetKeys(cfg.Keys)
	if caps != nil {
		s.source = caps.Events
		s.failer, _ = any(caps).(captureFailer) // absent until the capture service has FailClosed
	}
	mux := &routeMux{ServeMux: http.NewServeMux()}
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if g, ok := st.(Gauges); ok {
		mux.Handle("GET /metrics", metricsHandler(g, reg))
	}
	mux.HandleFunc("GET /v1/calls", s.require(RoleSupervisor, s.listCalls))
	mux.HandleFunc("GET /v1/calls/{id}", s.require(RoleAgent, s.getCall))
	mux.HandleFunc("GET /v1/trunks", s.require(RoleAuditor, s.listTrunks))
	mux.HandleFunc("GET /v1/openapi.yaml", s.require(anyRole, serveOpenAPI))
	s.routesCaptures(mux)
	s.routesTokens(mux)
	if r, ok := st.(Reloader); ok {
		mux.HandleFunc("POST /v1/reload", s.require(RoleAdmin, reloadHandler(r)))
	}
	s.routes = mux.routes
	mux.ServeMux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeError(w, http.StatusNotFound, "no such endpoint") })
	s.base, s.stop = context.WithCancel(context.Background())
	s.http = &http.Server{Handler: s.egress(mux), MaxHeaderBytes: cfg.MaxHeaderBytes,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout, // event streams set their own per write
		BaseContext: func(net.Listener) context.Context { return s.base }}
	return s
}

// Listen binds the API's address.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.ln = newCapListener(ln, s.cfg.MaxConnections, s.metrics)
	return nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	flush := time.NewTicker(refusalFlush)
	defer flush.Stop()
	defer s.flushRefusals() // those held back at the end
wait:
	for {
		select {
		case err := <-errc:
			return err
		case <-flush.C:
			s.flushRefusals()
		case <-ctx.Done():
			break wait
		}
	}
	s.stop()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.status.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "active_calls": s.status.ActiveCalls()})
}

func (s *Server) listCalls(w http.ResponseWriter, _ *http.Request) {
	calls := s.status.Calls()
	if calls == nil {
		calls = []sip.CallInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": calls})
}

func (s *Server) getCall(w http.ResponseWriter, r *http.Request) {
	c, ok := s.status.Call(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such call")
		return
	}
	concerns(w, c.CaptureID)
	writeJSON(w, http.StatusOK, c)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// flushRefusals writes the record of the unauthenticated refusals the gate
// held back, if any.
func (s *Server) flushRefusals() {
	if rec, ok := s.refusals.flush(); ok {
		s.appendAudit(rec)
	}
}
