package sip

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tonewall/tonewall/internal/capture"
	"github.com/tonewall/tonewall/internal/cdr"
	"github.com/tonewall/tonewall/internal/media"
)

// Server is the B2BUA: it owns the SIP listeners and every call.
type Server struct {
	cfg       *Config
	log       *zap.Logger
	abuse     *zap.Logger // for what strangers can make happen at will: sampled
	media     *media.Manager
	captures  *capture.Service // nil: no call takes captures
	ua        *sipgo.UserAgent
	srv       *sipgo.Server
	cli       *sipgo.Client
	listeners []*listener
	tbl       atomic.Pointer[trunkTable] // see table()
	reloadMu  sync.Mutex
	serverTLS *tls.Config
	handshake listenerConfigs // what TLS listeners hand their peers (handshakeTLS)
	nonceKey  []byte

	draining atomic.Bool
	ready    chan struct{} // closed once every listener is bound and the trunks built
	failed   chan struct{} // closed when Run gives up before ready
	calls    callTable
	dialogs  dialogTable
	handlers sync.WaitGroup // INVITE handlers in flight
	udpConns sync.Map       // local netip.AddrPort → *udpSocket, for readFilter
	streams  []*streamListener
	conns    *connTable  // accepted TCP/TLS connections, all listeners
	sources  *sourceRate // out-of-dialog requests per source address
	admitted *admission  // call caps
	metrics  *metrics
	cdr      *cdr.Writer // nil: no call detail records
	traffic  *traffic
	health   *health // OPTIONS pings of the trunks' targets
}

// New builds the B2BUA from its validated sections; it binds nothing until Run.
// caps may be nil, in which case no route takes captures. The server's
// series are registered in reg.
func New(cfg Config, mm *media.Manager, caps *capture.Service, reg prometheus.Registerer, log *zap.Logger) (*Server, error) {
	s := &Server{cfg: &cfg, log: log, media: mm, captures: caps, ready: make(chan struct{}), failed: make(chan struct{})}
	s.metrics = newMetrics(reg)
	s.traffic = newTraffic(reg)
	s.health = newHealth(s.ping, newHealthMetrics(reg), log)
	lim := cfg.SIP.Limits
	s.conns = newConnTable(lim.MaxConnections, lim.MaxConnsPerSource)
	s.admitted = newAdmission(lim.MaxCalls, s.metrics.admission)
	s.sources = newSourceRate(lim.SourceRate, lim.SourceBurst, lim.SourceBlock, lim.MaxSources)
	s.sources.onBlock = func() { s.metrics.sourceEvents.WithLabelValues("blocked").Inc() }
	s.sources.onFull = func() { s.metrics.sourceEvents.WithLabelValues("untracked_table_full").Inc() }
	promauto.With(reg).NewGaugeFunc(prometheus.GaugeOpts{Name: "tonewall_sip_sources_blocked",
		Help: "Source addresses blocked now for exceeding sip.limits.source_rate."},
		func() float64 { return float64(s.sources.blockedNow(time.Now())) })
	// A flood of refused or malformed requests must not become a flood of
	// log lines: the first 10 per second of each message, then 1 in 100.
	s.abuse = log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, time.Second, 10, 100)
	}))
	s.calls.m = map[string]*Call{}
	s.dialogs.m = map[string]*Leg{}
	s.nonceKey = make([]byte, 32)
	if _, err := rand.Read(s.nonceKey); err != nil {
		return nil, err
	}
	serverTLS, clientTLS, selfSigned, err := tlsConfigs(cfg.SIP.TLS)
	if err != nil {
		return nil, err
	}
	if selfSigned && s.hasTLSListener() {
		log.Warn("no TLS certificate configured: using a self-signed one (development only)")
	}
	s.serverTLS, s.handshake = serverTLS, listenerTLS(serverTLS)
	if err := s.buildUA(clientTLS); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) hasTLSListener() bool {
	for _, l := range s.cfg.SIP.Listeners {
		if l.Transport == "tls" {
			return true
		}
	}
	return false
}

func (s *Server) buildUA(clientTLS *tls.Config) error {
	sl := sipLogger(s.log)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("tonewall"), // sipgo names From with it only when a request lacks one
		sipgo.WithUserAgenTLSConfig(clientTLS),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(sl), sip.WithTransportLayerReadFilter(s.readFilter)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(sl),
			sip.WithTransactionLayerUnhandledResponseHandler(s.onStrayResponse)),
	)
	if err != nil {
		return err
	}
	s.ua = ua
	if s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(sl)); err != nil {
		return err
	}
	if s.cli, err = sipgo.NewClient(ua, sipgo.WithClientLogger(sl)); err != nil {
		return err
	}
	s.register()
	return nil
}

// register installs a handler per method, each behind recovery.
func (s *Server) register() {
	on := func(m sip.RequestMethod, h sipgo.RequestHandler) { s.srv.OnRequest(m, s.withRecovery(h)) }
	on(sip.INVITE, s.onInvite)
	on(sip.ACK, s.onAck)
	on(sip.BYE, s.onBye)
	on(sip.CANCEL, s.onStrayCancel)
	on(sip.OPTIONS, s.onOptions)
	on(sip.INFO, s.onRelay)
	on(sip.UPDATE, s.onRelay)
	on(sip.PRACK, s.onPrack)
	on(sip.REFER, s.onRefer)
	for _, m := range []sip.RequestMethod{sip.REGISTER, sip.SUBSCRIBE, sip.NOTIFY, sip.MESSAGE, sip.PUBLISH} {
		on(m, s.onNotAllowed)
	}
	s.srv.OnNoRoute(s.withRecovery(s.onUnknown))
}

// withRecovery turns a panic in a handler into a 500 and a log line. It
// is also where requests received and responses sent are counted.
func (s *Server) withRecovery(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		s.traffic.request(string(req.Method), dirIn)
		if tx != nil {
			tx = &countedTx{ServerTransaction: tx, t: s.traffic}
		}
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("sip handler panic", zap.String("method", string(req.Method)), zap.String("panic", fmt.Sprint(r)))
				if tx != nil {
					_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
				}
			}
		}()
		if s.scanner(headerOf(req, "User-Agent")) {
			s.metrics.dropped.WithLabelValues("scanner").Inc()
			forget(tx)
			return
		}
		if reason := malformed(req); reason != "" {
			s.abuse.Warn("malformed SIP request refused", zap.String("reason", reason), zap.String("source", req.Source()))
			if tx != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
			}
			return
		}
		// A request can arrive on the first listener while the next ones
		// are still being bound: handlers read the listeners and trunks,
		// so it waits until they are complete (or answers 503 if they
		// never will be).
		select {
		case <-s.ready:
		case <-s.failed:
			if tx != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
			}
			return
		}
		if s.legOf(req) == nil && s.stranger(req, tx) {
			s.refuseStranger(req, tx)
			return
		}
		// UDP was counted in readFilter; a stream's requests are counted here.
		if req.Transport() != "UDP" && outOfDialog(string(req.Method)) && !s.sources.allow(sourceAddr(req), time.Now()) {
			s.metrics.dropped.WithLabelValues("source_rate").Inc()
			forget(tx)
			return
		}
		h(req, tx)
	}
}

// malformed says what makes a request one to refuse with 400, or "": a
// header every request must carry is missing (RFC 3261 8.1.1), the CSeq
// names another method (8.1.1.5), or two Content-Length values differ, which
// leaves where the message ends to whoever reads it (a smuggling vector on
// streams).
func malformed(req *sip.Request) string {
	if req.Via() == nil || req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		return "missing header"
	}
	if req.CSeq().MethodName != req.Method {
		return "cseq method"
	}
	var first string
	for i, h := range req.GetHeaders("Content-Length") {
		if v := strings.TrimSpace(h.Value()); i == 0 {
			first = v
		} else if v != first {
			return "content-length"
		}
	}
	return ""
}

// forget ends the transaction of a request dropped unanswered: sipgo
// would otherwise keep it, and send its own 100 Trying to an INVITE.
func forget(tx sip.ServerTransaction) {
	if tx != nil {
		tx.Terminate()
	}
}

func headerOf(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// refuseStranger answers a request from no trunk that reached a handler
// (only a stream stranger when unknown_sources is reject; UDP strangers are
// settled in readFilter): 403 once over the stream, or nothing.
func (s *Server) refuseStranger(req *sip.Request, tx sip.ServerTransaction) {
	s.abuse.Warn("request from no trunk refused", zap.String("method", string(req.Method)),
		zap.String("source", req.Source()), zap.String("transport", req.Transport()))
	if s.cfg.SIP.UnknownSources != "reject" || req.IsAck() || tx == nil {
		s.metrics.dropped.WithLabelValues("unknown_source").Inc()
		forget(tx)
		return
	}
	s.metrics.dropped.WithLabelValues("unknown_source_rejected").Inc()
	_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Forbidden", nil))
}

// Run binds every listener, pings the trunks' targets and serves until ctx
// ends; then it ends every call at once (Drain first for a graceful stop)
// and stops the pings.
func (s *Server) Run(ctx context.Context) error {
	for _, lc := range s.cfg.SIP.Listeners {
		s.listeners = append(s.listeners, &listener{cfg: lc})
	}
	t, err := s.buildTable(s.cfg)
	if err != nil {
		close(s.failed)
		return err
	}
	s.tbl.Store(t) // before any socket is bound: the first packet is matched against it
	closers, err := s.bind()
	if err != nil {
		close(s.failed)
		closeAll(closers)
		return err
	}
	close(s.ready)
	s.health.start(ctx, s.table().trunks)
	<-ctx.Done()
	s.hangupAll("shutdown")
	s.handlers.Wait()
	s.health.wait()
	closeAll(closers)
	return s.ua.Close()
}

// Ready is closed once every listener is bound.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the bound address of a listener, for tests and logs.
func (s *Server) Addr(name string) netip.AddrPort {
	for _, l := range s.listeners {
		if l.cfg.Name == name {
			return l.addr
		}
	}
	return netip.AddrPort{}
}

// Drain refuses new calls and waits for the current ones to end, until ctx
// ends; then it hangs up what is left.
func (s *Server) Drain(ctx context.Context) {
	s.draining.Store(true)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for s.calls.len() > 0 {
		select {
		case <-ctx.Done():
			s.hangupAll("drain deadline")
			return
		case <-t.C:
		}
	}
}

// Draining reports whether new calls are refused.
func (s *Server) Draining() bool { return s.draining.Load() }

// Dialogs is the number of dialogs tonewall tracks (for leak checks).
func (s *Server) Dialogs() int { return s.dialogs.len() }

// ActiveCalls is the number of calls in progress.
func (s *Server) ActiveCalls() int { return s.calls.len() }

func (s *Server) listenerMap() map[string]*listener {
	m := map[string]*listener{}
	for _, l := range s.listeners {
		m[l.cfg.Name] = l
	}
	return m
}

// bind opens each listener's socket and starts sipgo serving it.
func (s *Server) bind() ([]func(), error) {
	var closers []func()
	for _, l := range s.listeners {
		lc := l.cfg
		closer, err := s.listen(l)
		if err != nil {
			return closers, fmt.Errorf("sip listener %s (%s %s): %w", lc.Name, lc.Transport, lc.Address, err)
		}
		closers = append(closers, closer)
		s.metrics.listenerUp.WithLabelValues(lc.Name).Set(1)
		s.log.Info("sip listening", zap.String("listener", lc.Name), zap.String("transport", lc.Transport), zap.Stringer("addr", l.addr))
	}
	return closers, nil
}

// ListenersUp reports whether every TCP/TLS listener is accepting.
func (s *Server) ListenersUp() bool {
	for _, l := range s.streams {
		if !l.Up() {
			return false
		}
	}
	return true
}

// admits says whether a source may talk to a listener at all: a source of
// one of its trunks, or anyone when strangers are answered (reject).
func (s *Server) admits(l *listener) func(netip.Addr) bool {
	return func(src netip.Addr) bool {
		return s.cfg.SIP.UnknownSources == "reject" || matchTrunk(s.table().trunks, l, src) != nil
	}
}

func (s *Server) listen(l *listener) (func(), error) {
	switch l.cfg.Transport {
	case "udp":
		c, err := net.ListenPacket("udp", l.cfg.Address)
		if err != nil {
			return nil, err
		}
		// A burst of call setups overflows the default ~200 KB buffer and
		// ACKs, which nobody retransmits, are lost first. The kernel caps
		// this at net.core.rmem_max.
		_ = c.(*net.UDPConn).SetReadBuffer(udpBuffer)
		_ = c.(*net.UDPConn).SetWriteBuffer(udpBuffer)
		l.setAddr(c.LocalAddr())
		s.udpConns.Store(addrPortOf(c.LocalAddr()), &udpSocket{PacketConn: c, l: l})
		go func() { _ = s.srv.ServeUDP(c) }()
		s.awaitUDP(c.LocalAddr().String())
		return func() { _ = c.Close() }, nil
	default:
		ln, err := net.Listen("tcp", l.cfg.Address)
		if err != nil {
			return nil, err
		}
		l.setAddr(ln.Addr())
		sl := &streamListener{Listener: ln, name: l.cfg.Name, conns: s.conns, limits: s.cfg.SIP.Limits,
			admit: s.admits(l), m: s.metrics, log: s.abuse, closed: make(chan struct{})}
		s.streams = append(s.streams, sl)
		if l.cfg.Transport == "tls" {
			sl.tls = s.handshakeTLS(l)
			go func() { _ = s.srv.ServeTLS(sl) }()
		} else {
			go func() { _ = s.srv.ServeTCP(sl) }()
		}
		return func() { _ = sl.Close() }, nil
	}
}

const udpBuffer = 4 << 20

// onStrayResponse sees responses that match no transaction. A 2xx to an
// INVITE that was already answered means leg B did not get our ACK (RFC 3261
// 13.2.2.4): send the same ACK again.
func (s *Server) onStrayResponse(res *sip.Response) {
	cseq, from := res.CSeq(), res.From()
	if !res.IsSuccess() || cseq == nil || cseq.MethodName != sip.INVITE || from == nil || res.CallID() == nil {
		return
	}
	tag, _ := from.Params.Get("tag")
	l := s.dialogs.get(res.CallID().Value(), tag)
	if l == nil {
		return
	}
	if ack := l.lastAck(cseq.SeqNo); ack != nil {
		_ = s.cli.WriteRequest(ack, func(*sipgo.Client, *sip.Request) error { return nil })
	}
}

// awaitUDP waits until sipgo has taken the UDP socket into its pool, so
// requests leaving from it find it (sipgo registers it in its serving goroutine).
func (s *Server) awaitUDP(addr string) {
	for i := 0; i < 200; i++ {
		if c, err := s.ua.TransportLayer().GetConnection("udp", addr); err == nil && c != nil {
			_, _ = c.TryClose() // Get took a reference; a listener is never closed by it
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// setAddr records the bound address and the address to advertise (the
// configured one, with the bound port when it was 0).
func (l *listener) setAddr(a net.Addr) {
	l.addr = netip.MustParseAddrPort(a.String())
	adv := netip.MustParseAddrPort(l.cfg.Advertise)
	port := adv.Port()
	if port == 0 {
		port = l.addr.Port()
	}
	l.advertise = sip.Uri{Host: adv.Addr().String(), Port: int(port)}
}

func (l *listener) transport() string {
	switch l.cfg.Transport {
	case "tls":
		return "TLS"
	case "tcp":
		return "TCP"
	}
	return "UDP"
}

// contact is tonewall's Contact URI on this listener. TLS is said with
// transport=tls on a sip: URI, as most trunks expect: a sips: Contact demands
// TLS on every hop, and some user agents (baresip among them) refuse it.
func (l *listener) contact() sip.Uri {
	u := sip.Uri{Scheme: "sip", User: "tonewall", Host: l.advertise.Host, Port: l.advertise.Port}
	if l.cfg.Transport != "udp" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", l.cfg.Transport)
	}
	return u
}

// via is a fresh Via header for a request leaving on this listener.
func (l *listener) via() *sip.ViaHeader {
	v := &sip.ViaHeader{
		ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: l.transport(),
		Host: l.advertise.Host, Port: l.advertise.Port, Params: sip.NewParams(),
	}
	v.Params.Add("branch", sip.GenerateBranchN(16))
	v.Params.Add("rport", "")
	return v
}

// listenerOf finds the listener a request arrived on.
func (s *Server) listenerOf(tx sip.ServerTransaction, req *sip.Request) *listener {
	stx, ok := sipgoTx(tx)
	if !ok || stx.Connection() == nil {
		return nil
	}
	la, err := netip.ParseAddrPort(stx.Connection().LocalAddr().String())
	if err != nil {
		return nil
	}
	tp := sip.NetworkToLower(req.Transport())
	for _, l := range s.listeners {
		if l.cfg.Transport != tp || l.addr.Port() != la.Port() {
			continue
		}
		if l.addr.Addr().IsUnspecified() || l.addr.Addr() == la.Addr().Unmap() {
			return l
		}
	}
	return nil
}

func sourceAddr(req *sip.Request) netip.Addr {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func closeAll(fs []func()) {
	for _, f := range fs {
		f()
	}
}

// RouteLibraryLogs sends what sipgo logs through its package-wide logger
// (some of its code ignores the loggers handed to it) through the same
// message-only filter. It sets a global: call it once, before serving.
func RouteLibraryLogs(log *zap.Logger) {
	sip.SetDefaultLogger(sipLogger(log))
}

// sipLogger hands sipgo a slog logger that keeps only the message text at
// debug level: sipgo's attributes can hold whole SIP messages, and a SIP INFO
// body may carry a digit typed inside a capture window.
func sipLogger(log *zap.Logger) *slog.Logger {
	return slog.New(&msgOnlyHandler{log: log.Named("sipgo")})
}

type msgOnlyHandler struct{ log *zap.Logger }

func (h *msgOnlyHandler) Enabled(context.Context, slog.Level) bool {
	return h.log.Core().Enabled(zap.DebugLevel)
}
func (h *msgOnlyHandler) Handle(_ context.Context, r slog.Record) error {
	h.log.Debug(r.Message, zap.String("sipgo_level", r.Level.String()))
	return nil
}
func (h *msgOnlyHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *msgOnlyHandler) WithGroup(string) slog.Handler      { return h }
