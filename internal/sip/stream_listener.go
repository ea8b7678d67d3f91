package sip

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// streamListener is the TCP or TLS socket sipgo serves. sipgo's serving
// loop ends on the first error Accept returns, so Accept returns none but
// net.ErrClosed: a failed accept (no descriptor left, an aborted
// connection) is counted, logged at a bounded rate and retried with
// backoff, and the listener reports itself down meanwhile. A connection
// from no trunk of the listener is closed unread (when strangers are
// dropped), and so is one over the connection caps. What it accepts is a
// streamConn, which bounds the connection's time.
type streamListener struct {
	net.Listener // the bound TCP socket
	name         string
	tls          *tls.Config // nil: plain TCP
	conns        *connTable
	limits       Limits
	admit        func(netip.Addr) bool // whether a source may open a connection
	m            *metrics
	log          *zap.Logger // sampled
	down         atomic.Bool
	closed       chan struct{}
	closeOnce    sync.Once
}

const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
	writeTimeout     = 10 * time.Second // a peer that stops reading cannot hold a writer longer
)

// Accept returns the next connection worth serving; its only error is
// net.ErrClosed.
func (l *streamListener) Accept() (net.Conn, error) {
	backoff := acceptBackoffMin
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, net.ErrClosed
			}
			l.acceptFailed(err)
			select {
			case <-time.After(backoff):
			case <-l.closed:
				return nil, net.ErrClosed
			}
			backoff = min(2*backoff, acceptBackoffMax)
			continue
		}
		if l.down.CompareAndSwap(true, false) {
			l.m.listenerUp.WithLabelValues(l.name).Set(1)
			l.log.Info("sip listener accepting again", zap.String("listener", l.name))
		}
		backoff = acceptBackoffMin
		if sc := l.wrap(c); sc != nil {
			return sc, nil
		}
	}
}

func (l *streamListener) acceptFailed(err error) {
	l.m.acceptErrors.WithLabelValues(l.name).Inc()
	if l.down.CompareAndSwap(false, true) {
		l.m.listenerUp.WithLabelValues(l.name).Set(0)
	}
	l.log.Error("sip listener cannot accept: retrying", zap.String("listener", l.name), zap.Error(err))
}

// Up reports whether the last accept succeeded.
func (l *streamListener) Up() bool { return !l.down.Load() }

// Close stops Accept, also while it backs off.
func (l *streamListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// wrap admits a new connection or closes it unread.
func (l *streamListener) wrap(c net.Conn) net.Conn {
	src := addrPortOf(c.RemoteAddr()).Addr()
	reason := ""
	switch {
	case !l.admit(src):
		reason = "unknown_source"
	default:
		reason = l.conns.take(src)
	}
	if reason != "" {
		l.m.connRefused.WithLabelValues(reason).Inc()
		l.log.Warn("sip connection refused", zap.String("listener", l.name), zap.String("reason", reason),
			zap.Stringer("source", src))
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset: nothing more goes out for a refused connection
		}
		_ = c.Close()
		return nil
	}
	l.m.connsOpen.WithLabelValues(l.name).Inc()
	sc := &streamConn{Conn: c, l: l, src: src}
	if l.tls != nil {
		sc.tls = tls.Server(c, l.tls)
		sc.Conn = sc.tls
	}
	return sc
}

// streamConn is one accepted SIP connection. Its deadlines: the TLS
// handshake must finish within handshake_timeout; a message, once its first
// byte is in, must be whole within message_timeout; between messages a
// connection that carries no dialog is closed after idle_timeout. Only the
// reading goroutine (sipgo's, one per connection) calls Read.
type streamConn struct {
	net.Conn   // the TLS session, or the TCP socket
	l          *streamListener
	src        netip.Addr
	tls        *tls.Conn // nil: plain TCP
	handshaken bool
	fr         framer
	msgStart   time.Time
	dialogs    atomic.Int32 // calls whose dialog runs over this connection
	closeOnce  sync.Once
}

func (c *streamConn) Read(b []byte) (int, error) {
	if c.tls != nil && !c.handshaken {
		if err := c.handshake(); err != nil {
			return 0, err
		}
	}
	n, err := c.read(b)
	for n == 0 && isTimeout(err) && c.fr.between() && c.dialogs.Load() > 0 {
		n, err = c.read(b) // a dialog was held after the idle deadline was set: wait on without one
	}
	if isTimeout(err) {
		kind := "idle"
		if !c.fr.between() {
			kind = "message"
		}
		c.l.m.connTimeouts.WithLabelValues(kind).Inc()
		c.l.log.Info("sip connection timed out", zap.String("listener", c.l.name), zap.String("kind", kind),
			zap.Stringer("source", c.src))
	}
	return n, err
}

func (c *streamConn) read(b []byte) (int, error) {
	d := c.deadline()
	if err := c.Conn.SetReadDeadline(d); err != nil {
		return 0, err
	}
	if d.IsZero() && c.dialogs.Load() == 0 { // released meanwhile, its deadline overwritten
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.l.limits.IdleTimeout)); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(b)
	if n > 0 && c.fr.feed(b[:n]) {
		c.msgStart = time.Now()
	}
	return n, err
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func (c *streamConn) handshake() error {
	_ = c.Conn.SetDeadline(time.Now().Add(c.l.limits.HandshakeTimeout))
	err := c.tls.Handshake()
	_ = c.Conn.SetDeadline(time.Time{})
	if err != nil {
		c.l.m.tlsFailures.WithLabelValues(c.l.name).Inc()
		c.l.log.Info("tls handshake failed", zap.String("listener", c.l.name), zap.Stringer("source", c.src),
			zap.Error(err))
		return err
	}
	c.handshaken = true
	return nil
}

// deadline is when the next read gives up.
func (c *streamConn) deadline() time.Time {
	switch {
	case !c.fr.between():
		return c.msgStart.Add(c.l.limits.MessageTimeout)
	case c.dialogs.Load() > 0:
		return time.Time{}
	}
	return time.Now().Add(c.l.limits.IdleTimeout)
}

func (c *streamConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// hold marks a dialog running over this connection, which is then kept
// open while idle; the returned func releases it.
func (c *streamConn) hold() func() {
	c.dialogs.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			if c.dialogs.Add(-1) == 0 {
				// A read may be waiting with no deadline: give it the idle one.
				_ = c.Conn.SetReadDeadline(time.Now().Add(c.l.limits.IdleTimeout))
			}
		})
	}
}

// ConnectionState is the TLS state for mutual-TLS checks (zero for TCP).
func (c *streamConn) ConnectionState() tls.ConnectionState {
	if c.tls == nil {
		return tls.ConnectionState{}
	}
	return c.tls.ConnectionState()
}

func (c *streamConn) Close() error {
	c.closeOnce.Do(func() {
		c.l.conns.release(c.src)
		c.l.m.connsOpen.WithLabelValues(c.l.name).Dec()
	})
	return c.Conn.Close()
}

// connTable counts open connections, in all and per source address.
type connTable struct {
	mu       sync.Mutex
	max, per int
	total    int
	bySource map[netip.Addr]int
}

func newConnTable(max, per int) *connTable {
	return &connTable{max: max, per: per, bySource: map[netip.Addr]int{}}
}

// take counts a connection from src, or says which cap refuses it.
func (t *connTable) take(src netip.Addr) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.total >= t.max:
		return "connection_limit"
	case t.bySource[src] >= t.per:
		return "source_connection_limit"
	}
	t.total++
	t.bySource[src]++
	return ""
}

func (t *connTable) release(src netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total--
	if t.bySource[src]--; t.bySource[src] <= 0 {
		delete(t.bySource, src)
	}
}

// setCaps changes the caps; connections already open stay, and count.
func (t *connTable) setCaps(max, per int) {
	t.mu.Lock()
	t.max, t.per = max, per
	t.mu.Unlock()
}

// open is the number of connections counted.
func (t *connTable) open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}
