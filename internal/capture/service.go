package capture

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/card"
	"github.com/tonewall/tonewall/internal/dtmf/collect"
	"github.com/tonewall/tonewall/internal/vault"
)

// Service holds the capture controllers of every call and what they share:
// the vault, the audit log and the event broker.
type Service struct {
	cfg     Config
	vault   vault.Vault
	audit   *audit.Log
	log     *zap.Logger
	metrics *metrics
	Events  *Broker
	// egressHook, in tests only, replaces a result body on its way out by
	// path, to show the egress check holds.
	egressHook func(path string, body []byte) []byte

	mu     sync.Mutex
	calls  map[string]*Controller // by tonewall call id
	states map[string]int         // captures ended, by terminal state; guarded by mu
	wg     sync.WaitGroup         // capture goroutines
}

// NewService builds the service; cfg must be validated. audit may be nil;
// the service's series are registered with reg (nil: not registered).
func NewService(cfg Config, v vault.Vault, a *audit.Log, reg prometheus.Registerer, log *zap.Logger) *Service {
	return &Service{cfg: cfg, vault: v, audit: a, log: log, metrics: newMetrics(reg), Events: newBroker(),
		calls: map[string]*Controller{}, states: map[string]int{}}
}

// Point describes a call's capture point.
type Point struct {
	Policy      string     // api | always: "always" opens a capture with the default fields at once
	TokenInBand bool       // the contact-center trunk takes DTMF in-band: token DTMF is keyed as tones
	Deliver     InfoSender // sends the result INFO toward the contact center; nil: none
}

// Attach makes the capture point of a call whose route takes captures and
// returns it, to be installed as the media stage.
func (s *Service) Attach(callID string, pt Point) (*Controller, error) {
	c, err := newController(s, callID, pt.Deliver)
	if err != nil {
		return nil, err
	}
	c.keying.inband = pt.TokenInBand
	policy := pt.Policy
	s.mu.Lock()
	s.calls[callID] = c
	s.mu.Unlock()
	if policy == "always" {
		if _, err := s.Start(callID, Request{Actor: "policy:always"}); err != nil {
			s.log.Warn("capture for policy always did not start", zap.String("call_id", callID), zap.Error(err))
		}
	}
	return c, nil
}

// Detach ends a call's capture point: an open capture ends call_ended and
// its digits are wiped before Detach returns.
func (s *Service) Detach(callID string) {
	s.mu.Lock()
	c := s.calls[callID]
	delete(s.calls, callID)
	s.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	c.ended = true
	cur := c.cur
	c.mu.Unlock()
	if cur != nil {
		cur.callEnded()
		<-cur.done
	}
}

// Controller returns the capture point of a call.
func (s *Service) Controller(callID string) (*Controller, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.calls[callID]
	return c, ok
}

// Start opens a capture window on a call.
func (s *Service) Start(callID string, req Request) (*Window, error) {
	ctrl, ok := s.Controller(callID)
	if !ok {
		return nil, ErrNoCall
	}
	opts, err := s.options(req)
	if err != nil {
		return nil, err
	}
	m, err := collect.New(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFields, err)
	}
	return ctrl.start(m, req.Actor, req.Source)
}

// Get finds a capture of a call by id.
func (s *Service) Get(callID, captureID string) (*Window, error) {
	ctrl, ok := s.Controller(callID)
	if !ok {
		return nil, ErrNoCall
	}
	if c := ctrl.Current(); c != nil && c.id == captureID {
		return c, nil
	}
	return nil, ErrNoCapture
}

// States counts the captures ended since start, by terminal state.
func (s *Service) States() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.states))
	for k, v := range s.states {
		out[k] = v
	}
	return out
}

func (s *Service) ended(state string, took time.Duration) {
	s.mu.Lock()
	s.states[state]++
	s.mu.Unlock()
	s.metrics.duration.WithLabelValues(state).Observe(took.Seconds())
}

// Wait blocks until every capture goroutine has ended (for shutdown and tests).
func (s *Service) Wait() { s.wg.Wait() }

// start opens the window with a fresh machine, if none is open.
func (ctrl *Controller) start(m *collect.Machine, actor, source string) (*Window, error) {
	ctrl.mu.Lock()
	defer ctrl.mu.Unlock()
	if ctrl.ended {
		return nil, ErrCallEnded
	}
	// A capture that has reached its end no longer holds the window, even
	// while it is still delivering its result.
	if ctrl.cur != nil && !isDone(ctrl.cur) && !collect.State(ctrl.cur.Status().State).Terminal() {
		return nil, ErrBusy
	}
	c := &Window{id: newID(), callID: ctrl.callID, ctrl: ctrl, svc: ctrl.svc, m: m,
		presses: make(chan collect.Press, 64), cancel: make(chan struct{}), callEnd: make(chan struct{}),
		retry: make(chan retryReq), fail: make(chan struct{}),
		done: make(chan struct{})}
	c.status = Status{ID: c.id, CallID: c.callID, Created: time.Now()}
	c.status.track(m.Status()) // before the window's goroutine owns m
	ctrl.keep(c)
	ctrl.presses.Store(&c.presses)
	ctrl.svc.wg.Add(1)
	go func() {
		defer ctrl.svc.wg.Done()
		c.run(actor, source)
	}()
	return c, nil
}

func isDone(c *Window) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// options turns a request and the config into the machine's options.
func (s *Service) options(req Request) (collect.Options, error) {
	names := req.Fields
	if len(names) == 0 {
		names = s.cfg.Fields
	}
	var fields []collect.Field
	if !slices.Contains(names, string(collect.KindPAN)) {
		return collect.Options{}, fmt.Errorf("%w: a capture collects a card: fields must include pan", ErrBadFields)
	}
	for _, n := range names {
		switch collect.Kind(n) {
		case collect.KindPAN, collect.KindExpiry, collect.KindCVV, collect.KindPostalCode:
			fields = append(fields, collect.Field{Kind: collect.Kind(n), Name: n})
		default:
			return collect.Options{}, fmt.Errorf("%w: unknown field %s (want pan, expiry, cvv, postal_code)", ErrBadFields, echoName(n))
		}
	}
	brands := req.Brands
	if len(brands) == 0 {
		brands = s.cfg.Brands
	}
	var bs []card.Brand
	for _, b := range brands {
		if !isBrand(b) {
			return collect.Options{}, fmt.Errorf("%w: unknown brand %s", ErrBadFields, echoName(b))
		}
		bs = append(bs, card.Brand(b))
	}
	return collect.Options{Fields: fields, Brands: bs, ConfirmPAN: req.ConfirmPAN, MaxAttempts: s.cfg.Attempts,
		FirstDigitTimeout: s.cfg.FirstDigitTimeout, InterDigitTimeout: s.cfg.InterDigitTimeout, Timeout: s.cfg.Timeout}, nil
}

// newID is a random capture id. Sixteen hex digits can come out all
// decimal and pass Luhn (about 1 in 20,000 ids), and such an id would trip
// every egress check of a message that names it: those are drawn again.
func newID() string {
	b := make([]byte, 8)
	for {
		_, _ = rand.Read(b)
		if id := "cap_" + hex.EncodeToString(b); !card.HoldsCardNumber([]byte(id)) {
			return id
		}
	}
}

// echoName quotes a name from a request in an error only when PlainWord
// says it is safe to repeat.
func echoName(n string) string {
	if !PlainWord(n) {
		return "(a name that is not a plain lower-case word)"
	}
	return strconv.Quote(n)
}

// PlainWord reports whether a name a client sent is safe to repeat in an
// answer: a short lower-case word. A client may put anything in a name,
// card digits included, and answers never repeat digits.
func PlainWord(s string) bool {
	return s != "" && len(s) <= 32 && !strings.ContainsFunc(s, func(r rune) bool { return (r < 'a' || r > 'z') && r != '_' })
}
