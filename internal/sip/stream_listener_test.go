package sip

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

// leakCheck verifies, after every other cleanup of t, that no goroutine
// is left.
func leakCheck(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

func listenTCP(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func newTestStreamListener(ln net.Listener, conns *connTable, lim Limits, admit func(netip.Addr) bool) *streamListener {
	if admit == nil {
		admit = func(netip.Addr) bool { return true }
	}
	return &streamListener{Listener: ln, name: "test", conns: conns, limits: lim, admit: admit,
		m: newMetrics(prometheus.NewRegistry()), log: zap.NewNop(), closed: make(chan struct{})}
}

// dialFrom connects to a from a loopback source address (127.0.0.0/8 is
// all local on Linux), so that one host can be many sources.
func dialFrom(t *testing.T, a net.Addr, src string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", a.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dialRefused connects from src and fails unless the server closes the
// connection at once; the reset may come before the dial returns.
func dialRefused(t *testing.T, a net.Addr, src string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", a.String())
	if errors.Is(err, syscall.ECONNRESET) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("OPTIONS sip:a SIP/2.0\r\n\r\n"))
	expectClosed(t, c)
}

// expectClosed fails unless the server end of c closes it.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection from %s still open: %v", c.LocalAddr(), err)
	}
}

// flakyListener fails its first accepts (all of them when left < 0) with
// "too many open files", as a real listener does when descriptors run out.
type flakyListener struct {
	net.Listener
	left   atomic.Int32
	failed chan int32 // the number of each failure, if there is room
	fails  atomic.Int32
	before func() // runs before a real accept
}

func (f *flakyListener) Accept() (net.Conn, error) {
	if f.left.Load() != 0 {
		f.left.Add(-1)
		n := f.fails.Add(1)
		select {
		case f.failed <- n:
		default:
		}
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	if f.before != nil {
		f.before()
	}
	return f.Listener.Accept()
}

func TestStreamListenerAcceptRetries(t *testing.T) {
	leakCheck(t)
	ln := listenTCP(t)
	fl := &flakyListener{Listener: ln}
	fl.left.Store(3)
	sl := newTestStreamListener(fl, newConnTable(10, 10), Limits{}, nil)
	upDuringFailure := true
	fl.before = func() { upDuringFailure = sl.Up() }
	client := dialFrom(t, ln.Addr(), "127.0.0.1")

	c, err := sl.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	defer c.Close()
	if _, ok := c.(*streamConn); !ok || c.RemoteAddr().String() != client.LocalAddr().String() {
		t.Fatalf("accepted %T from %v, want the streamConn of %v", c, c.RemoteAddr(), client.LocalAddr())
	}
	if upDuringFailure || !sl.Up() {
		t.Errorf("Up() while failing %v, after %v; want false, true", upDuringFailure, sl.Up())
	}
	if got := value(t, sl.m.acceptErrors.WithLabelValues("test")); got != 3 {
		t.Errorf("accept errors = %v, want 3", got)
	}
	if got := value(t, sl.m.listenerUp.WithLabelValues("test")); got != 1 {
		t.Errorf("listener_up = %v, want 1", got)
	}
}

// TestStreamListenerCloseWhileBackingOff: the inner listener fails forever
// (even once closed), so only Close can end Accept, and it must not wait
// for the backoff (320 ms after the seventh failure).
func TestStreamListenerCloseWhileBackingOff(t *testing.T) {
	leakCheck(t)
	fl := &flakyListener{Listener: listenTCP(t), failed: make(chan int32, 1)}
	fl.left.Store(-1)
	sl := newTestStreamListener(fl, newConnTable(10, 10), Limits{}, nil)
	done := make(chan error, 1)
	go func() {
		_, err := sl.Accept()
		done <- err
	}()
	for n := int32(0); n < 7; {
		select {
		case n = <-fl.failed:
		case <-time.After(3 * time.Second):
			t.Fatal("Accept does not retry")
		}
	}
	if sl.Up() {
		t.Error("Up() while accepts fail")
	}
	closed := time.Now()
	_ = sl.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept returned %v, want net.ErrClosed", err)
		}
		if d := time.Since(closed); d > 200*time.Millisecond {
			t.Errorf("Accept returned %v after Close: it waited for the backoff", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Accept still running after Close")
	}
	_ = sl.Close() // twice is harmless
}

// serve runs Accept until the listener closes and hands over what it
// accepts; Close of sl is registered as a cleanup of t.
func serve(t *testing.T, sl *streamListener) <-chan net.Conn {
	t.Helper()
	accepted, stop, done := make(chan net.Conn), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := sl.Accept()
			if err != nil {
				return
			}
			select {
			case accepted <- c:
			case <-stop:
				_ = c.Close()
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		_ = sl.Close()
		<-done
	})
	return accepted
}

func nextConn(t *testing.T, accepted <-chan net.Conn) *streamConn {
	t.Helper()
	select {
	case c := <-accepted:
		t.Cleanup(func() { _ = c.Close() })
		return c.(*streamConn)
	case <-time.After(2 * time.Second):
		t.Fatal("no connection accepted")
	}
	return nil
}

func noConn(t *testing.T, accepted <-chan net.Conn) {
	t.Helper()
	select {
	case c := <-accepted:
		t.Fatalf("accepted a refused connection from %v", c.RemoteAddr())
	default:
	}
}

func TestStreamListenerConnectionCaps(t *testing.T) {
	leakCheck(t)
	ln := listenTCP(t)
	conns := newConnTable(2, 1)
	sl := newTestStreamListener(ln, conns, Limits{}, nil)
	accepted := serve(t, sl)

	dialFrom(t, ln.Addr(), "127.0.0.1")
	first := nextConn(t, accepted)
	dialRefused(t, ln.Addr(), "127.0.0.1") // a second from the same source
	noConn(t, accepted)
	dialFrom(t, ln.Addr(), "127.0.0.2")
	nextConn(t, accepted)
	dialRefused(t, ln.Addr(), "127.0.0.3") // a third in all
	noConn(t, accepted)

	if got := conns.open(); got != 2 {
		t.Errorf("connections counted = %d, want 2", got)
	}
	for reason, want := range map[string]float64{"source_connection_limit": 1, "connection_limit": 1, "unknown_source": 0} {
		if got := value(t, sl.m.connRefused.WithLabelValues(reason)); got != want {
			t.Errorf("refused %s = %v, want %v", reason, got, want)
		}
	}

	_ = first.Close()
	_ = first.Close() // counted once
	if got, gauge := conns.open(), value(t, sl.m.connsOpen.WithLabelValues("test")); got != 1 || gauge != 1 {
		t.Fatalf("after Close: %d counted, gauge %v; want 1, 1", got, gauge)
	}
	dialFrom(t, ln.Addr(), "127.0.0.1") // the source has its place back
	nextConn(t, accepted)
}

func TestStreamListenerRefusesUnadmittedSource(t *testing.T) {
	leakCheck(t)
	ln := listenTCP(t)
	conns := newConnTable(10, 10)
	stranger := netip.MustParseAddr("127.0.0.2")
	sl := newTestStreamListener(ln, conns, Limits{}, func(a netip.Addr) bool { return a != stranger })
	accepted := serve(t, sl)

	dialRefused(t, ln.Addr(), "127.0.0.2")
	noConn(t, accepted)
	if got := value(t, sl.m.connRefused.WithLabelValues("unknown_source")); got != 1 {
		t.Errorf("refused unknown_source = %v, want 1", got)
	}
	if got := conns.open(); got != 0 {
		t.Errorf("a refused source holds %d places", got)
	}
	dialFrom(t, ln.Addr(), "127.0.0.1")
	if sc := nextConn(t, accepted); sc.src != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("source recorded as %v", sc.src)
	}
}

// acceptOne accepts one connection with limits lim; the server end is
// closed after 3 s at the latest, so that a read with no deadline fails
// the test rather than hanging it.
func acceptOne(t *testing.T, lim Limits, tlsCfg *tls.Config) (*streamConn, net.Conn) {
	t.Helper()
	ln := listenTCP(t)
	sl := newTestStreamListener(ln, newConnTable(10, 10), lim, nil)
	sl.tls = tlsCfg
	client := dialFrom(t, ln.Addr(), "127.0.0.1")
	c, err := sl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(3*time.Second, func() { _ = c.Close() })
	t.Cleanup(func() {
		watchdog.Stop()
		_ = c.Close()
	})
	return c.(*streamConn), client
}

// readTimeout reads from c until a read fails, and fails the test unless
// that is a timeout.
func readTimeout(t *testing.T, c *streamConn) {
	t.Helper()
	buf := make([]byte, 1024)
	for {
		_, err := c.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return
		}
		if err != nil {
			t.Fatalf("read failed with %v, want a timeout", err)
		}
	}
}

func within(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s after %v, want between %v and %v", what, d, lo, hi)
	}
}

func timeouts(t *testing.T, c *streamConn) (idle, message float64) {
	return value(t, c.l.m.connTimeouts.WithLabelValues("idle")), value(t, c.l.m.connTimeouts.WithLabelValues("message"))
}

// TestStreamConnMessageTimeout: a message trickling in must be whole
// within message_timeout of its first byte, however often bytes come.
func TestStreamConnMessageTimeout(t *testing.T) {
	leakCheck(t)
	sc, client := acceptOne(t, Limits{MessageTimeout: 300 * time.Millisecond, IdleTimeout: 5 * time.Second}, nil)
	buf := make([]byte, 1024)
	start := time.Now()
	_, _ = client.Write([]byte("OPTIONS sip:a SIP/2.0\r\n"))
	if _, err := sc.Read(buf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond) // a slow sender: each byte in time, the message not
	_, _ = client.Write([]byte("Via: SIP/2.0/TCP x\r\n"))
	if _, err := sc.Read(buf); err != nil {
		t.Fatal(err)
	}
	readTimeout(t, sc)
	within(t, "partial message timed out", time.Since(start), 290*time.Millisecond, 480*time.Millisecond)
	if idle, msg := timeouts(t, sc); idle != 0 || msg != 1 {
		t.Errorf("timeouts idle %v message %v, want 0 1", idle, msg)
	}
}

func TestStreamConnIdleTimeout(t *testing.T) {
	leakCheck(t)
	sc, client := acceptOne(t, Limits{MessageTimeout: 5 * time.Second, IdleTimeout: 150 * time.Millisecond}, nil)
	_, _ = client.Write([]byte(optionsMsg + "\r\n\r\n"))
	got := 0
	for got < len(optionsMsg)+4 {
		n, err := sc.Read(make([]byte, 1024))
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	start := time.Now()
	readTimeout(t, sc)
	within(t, "idle connection timed out", time.Since(start), 140*time.Millisecond, time.Second)
	if idle, msg := timeouts(t, sc); idle != 1 || msg != 0 {
		t.Errorf("timeouts idle %v message %v, want 1 0", idle, msg)
	}
}

// TestStreamConnHoldKeepsIdleOpen: a connection carrying dialogs waits
// with no idle deadline until the last is released (each release counting
// once); then it gets the idle deadline even while a read is waiting.
func TestStreamConnHoldKeepsIdleOpen(t *testing.T) {
	leakCheck(t)
	sc, _ := acceptOne(t, Limits{MessageTimeout: 5 * time.Second, IdleTimeout: 100 * time.Millisecond}, nil)
	first, second := sc.hold(), sc.hold()
	t1 := time.AfterFunc(150*time.Millisecond, func() { first(); first() })
	t2 := time.AfterFunc(400*time.Millisecond, second)
	defer t1.Stop()
	defer t2.Stop()
	start := time.Now()
	readTimeout(t, sc)
	within(t, "connection released at 400 ms timed out", time.Since(start), 490*time.Millisecond, 1500*time.Millisecond)
	if idle, _ := timeouts(t, sc); idle != 1 {
		t.Errorf("idle timeouts %v, want 1", idle)
	}
}

// TestStreamConnHandshakeTimeout: a client that connects to a TLS listener
// and says nothing is cut off at handshake_timeout.
func TestStreamConnHandshakeTimeout(t *testing.T) {
	leakCheck(t)
	server, _, _, err := tlsConfigs(TLS{VerifyServer: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	lim := Limits{HandshakeTimeout: 150 * time.Millisecond, MessageTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second}
	sc, client := acceptOne(t, lim, server)
	start := time.Now()
	_, err = sc.Read(make([]byte, 1024))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read on a silent TLS connection: %v, want a timeout", err)
	}
	within(t, "silent TLS client cut off", time.Since(start), 140*time.Millisecond, time.Second)
	if got := value(t, sc.l.m.tlsFailures.WithLabelValues("test")); got != 1 {
		t.Errorf("tls failures = %v, want 1", got)
	}
	_ = sc.Close() // as sipgo does on a read error
	expectClosed(t, client)
}

func ptr[T any](v T) *T { return &v }

// TestStreamConnHoldDuringRead: sipgo reads the next message as soon as it
// has parsed an INVITE and runs the handler on another goroutine, so the
// handler's hold() comes while a read already waits with the idle deadline.
// The connection must still not time out idle while the dialog is held.
func TestStreamConnHoldDuringRead(t *testing.T) {
	leakCheck(t)
	sc, _ := acceptOne(t, Limits{MessageTimeout: 5 * time.Second, IdleTimeout: 150 * time.Millisecond}, nil)
	var release func()
	held := make(chan struct{})
	t1 := time.AfterFunc(50*time.Millisecond, func() { release = sc.hold(); close(held) })
	t2 := time.AfterFunc(500*time.Millisecond, func() { <-held; release() })
	defer t1.Stop()
	defer t2.Stop()
	start := time.Now()
	readTimeout(t, sc)
	within(t, "connection held at 50 ms, released at 500 ms, timed out", time.Since(start), 640*time.Millisecond, 2*time.Second)
}
