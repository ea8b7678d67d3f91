package api

import (
	"net"
	"sync"
	"sync/atomic"
)

// capListener accepts at most max connections open at once. Over the cap
// it accepts the next one and closes it at once, counted, rather than
// leaving it in the kernel's backlog: a stranger's flood gets an immediate
// close, and Accept never blocks waiting for a slot.
type capListener struct {
	net.Listener
	max  int64
	open atomic.Int64
	m    *edgeMetrics
}

func newCapListener(ln net.Listener, max int, m *edgeMetrics) *capListener {
	return &capListener{Listener: ln, max: int64(max), m: m}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			l.m.connsRefused.Inc()
			_ = c.Close()
			continue
		}
		l.m.connsOpen.Inc()
		return &capConn{Conn: c, l: l}, nil
	}
}

// capConn gives its slot back when closed, once.
type capConn struct {
	net.Conn
	l    *capListener
	once sync.Once
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		c.l.m.connsOpen.Dec()
	})
	return err
}
