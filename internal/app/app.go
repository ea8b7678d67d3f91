// Package app builds every part of tonewall from one configuration, starts
// them and stops them: the only place that reads the whole config.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/api"
	"github.com/tonewall/tonewall/internal/audit"
	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/cdr"
	"github.com/tonewall/tonewall/internal/media"
	"github.com/tonewall/tonewall/internal/sip"
	"github.com/tonewall/tonewall/internal/vault"
)

// App is a running tonewall.
type App struct {
	cfg      *Config
	log      *zap.Logger
	media    *media.Manager
	vault    vault.Vault
	forward  *vault.Forwarder // nil: vault.detokenize is off
	audit    *audit.Log
	Captures *capture.Service
	SIP      *sip.Server
	API      *api.Server
	Metrics  *prometheus.Registry // every part's series; served at /metrics
	cdr      *cdr.Writer          // nil: cdr.file is empty
	ready    chan struct{}
	reload   *reloader
}

// New builds every part; nothing listens until Run. When a part fails, what
// was built before it is closed again.
func New(cfg *Config, log *zap.Logger) (*App, error) {
	a := &App{cfg: cfg, log: log, ready: make(chan struct{}), Metrics: prometheus.NewRegistry()}
	a.reload = newReloader(cfg, a.Metrics)
	if err := a.build(); err != nil {
		_ = a.close() // the build error is the one to report
		return nil, err
	}
	return a, nil
}

// build makes the parts in dependency order; close undoes any prefix of it.
func (a *App) build() (err error) {
	cfg, log := a.cfg, a.log
	if a.vault, err = vault.New(cfg.Vault, log.Named("vault")); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	a.vault = vault.Timed(a.vault, cmp.Or(cfg.Vault.Driver, vault.DriverLocal), a.Metrics)
	if a.audit, err = audit.Open(cfg.Audit.File); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if a.cdr, err = cdr.Open(cfg.CDR, a.Metrics, log.Named("cdr")); err != nil {
		return cfg.At("cdr.file", err)
	}
	a.Captures = capture.NewService(cfg.Capture, a.vault, a.audit, a.Metrics, log.Named("capture"))
	if a.media, err = media.NewManager(cfg.Media, log.Named("media")); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	a.Metrics.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "tonewall_rtp_port_errors_total",
		Help: "RTP port allocations that failed for another reason than all ports taken (e.g. out of file descriptors).",
	}, func() float64 { return float64(a.media.PortErrors()) }))
	a.Metrics.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "tonewall_rtp_ports_exhausted_total",
		Help: "Calls refused 503 because every RTP port of media.port_min..port_max was held or resting.",
	}, func() float64 { return float64(a.media.PortsExhausted()) }))
	a.Metrics.MustRegister(media.NewCollector(a.media))
	if cfg.Vault.Detokenize.Enabled() {
		if a.forward, err = vault.NewForwarder(cfg.Vault.Detokenize, a.vault); err != nil {
			return fmt.Errorf("vault: %w", err)
		}
	}
	// Last of what can fail: the B2BUA's user agent has nothing to close
	// it before Run, so nothing may fail after it is built.
	if a.SIP, err = sip.New(cfg.Config, a.media, a.Captures, a.Metrics, log.Named("sip")); err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	a.SIP.SetCDR(a.cdr)
	a.API = api.New(cfg.API, a, a.Captures, a.Metrics, log.Named("api"))
	a.API.SetDetokenize(a.forward, a.audit)
	return nil
}

// close releases what New built, in reverse order.
func (a *App) close() error {
	var errs []error
	if a.media != nil {
		errs = append(errs, a.media.Close())
	}
	if a.Captures != nil {
		a.Captures.Wait()
	}
	if a.forward != nil {
		errs = append(errs, a.forward.Close())
	}
	errs = append(errs, a.cdr.Close()) // after SIP: the calls hung up at shutdown are in it
	if a.audit != nil {
		errs = append(errs, a.audit.Close())
	}
	if a.vault != nil {
		errs = append(errs, a.vault.Close())
	}
	return errors.Join(errs...)
}

// Ready reports whether tonewall takes calls: every listener bound and
// accepting, and not draining.
func (a *App) Ready() bool {
	select {
	case <-a.SIP.Ready():
		return !a.SIP.Draining() && a.SIP.ListenersUp()
	default:
		return false
	}
}

// ActiveCalls is the number of calls in progress.
func (a *App) ActiveCalls() int { return a.SIP.ActiveCalls() }

// Calls lists the calls in progress.
func (a *App) Calls() []sip.CallInfo { return a.SIP.Calls() }

// Call finds a call by tonewall id or contact-center Call-ID.
func (a *App) Call(id string) (sip.CallInfo, bool) { return a.SIP.Call(id) }

// Trunks is every trunk's posture and the health of its targets.
func (a *App) Trunks() []sip.TrunkInfo { return a.SIP.Trunks() }

// CaptureStates counts the captures ended since start, by state.
func (a *App) CaptureStates() map[string]int { return a.Captures.States() }

// PortsDraining is the number of released RTP ports resting before reuse.
func (a *App) PortsDraining() int { return a.media.PortsDraining() }

// PortsInUse is the number of RTP ports held by calls (for leak checks).
func (a *App) PortsInUse() int { return a.media.PortsInUse() }

// Started is closed when every listener is bound.
func (a *App) Started() <-chan struct{} { return a.ready }

// Run serves until ctx ends. When drain is non-nil and ends first, tonewall
// drains: no new calls, current ones get DrainTimeout, then BYE.
func (a *App) Run(ctx context.Context, drain <-chan struct{}) error {
	if err := a.API.Listen(); err != nil {
		return fmt.Errorf("api listener %s: %w", a.cfg.API.Address, err)
	}
	sipCtx, stopSIP := context.WithCancel(context.Background())
	defer stopSIP()
	apiCtx, stopAPI := context.WithCancel(context.Background())
	defer stopAPI()
	sipErr := make(chan error, 1)
	apiErr := make(chan error, 1)
	go func() { sipErr <- a.SIP.Run(sipCtx) }()
	go func() { apiErr <- a.API.Run(apiCtx) }()
	select {
	case <-a.SIP.Ready():
		close(a.ready)
		a.log.Info("tonewall ready", zap.String("api", a.API.Addr()))
	case err := <-sipErr:
		stopAPI()
		return errors.Join(err, <-apiErr, a.close())
	}
	a.wait(ctx, drain)
	stopSIP()
	err := <-sipErr
	stopAPI()
	return errors.Join(err, <-apiErr, a.close())
}

// wait blocks until ctx ends, or drain fires and the drain completes.
func (a *App) wait(ctx context.Context, drain <-chan struct{}) {
	select {
	case <-ctx.Done():
	case <-drain:
		a.log.Info("draining", zap.Int("calls", a.SIP.ActiveCalls()), zap.Duration("deadline", a.cfg.SIP.DrainTimeout))
		dctx, cancel := context.WithTimeout(ctx, a.cfg.SIP.DrainTimeout)
		defer cancel()
		a.SIP.Drain(dctx)
	}
}
