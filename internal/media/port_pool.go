package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// portPool hands out blocks of two ports (even RTP port, RTCP port+1) in FIFO
// order. A released block waits at the back of the queue and is not handed out
// again before its drain time has passed, so stale media from an old call
// never reaches a new one.
type portPool struct {
	addr   netip.Addr
	drain  time.Duration
	now    func() time.Time
	listen func(netip.AddrPort) (*net.UDPConn, error) // net.ListenUDP; tests substitute
	errs   atomic.Uint64                              // binds that failed for another reason than a taken port
	empty  atomic.Uint64                              // allocations refused with every port taken

	mu    sync.Mutex
	free  []freeBlock // FIFO, oldest release first; guarded by mu
	inUse int         // ports held by sessions; guarded by mu
}

type freeBlock struct {
	port     int
	released time.Time
}

// portBlock is one allocated block: RTP socket on port, RTCP socket on port+1
// unless rtcp-mux was known at allocation time.
type portBlock struct {
	port int
	rtp  *net.UDPConn
	rtcp *net.UDPConn // nil with rtcp-mux
}

func newPortPool(addr netip.Addr, min, max int, drain time.Duration) *portPool {
	p := &portPool{addr: addr, drain: drain, now: time.Now, listen: listenUDP}
	for port := min; port+1 <= max; port += 2 {
		p.free = append(p.free, freeBlock{port: port})
	}
	return p
}

// alloc binds a block; it tries each drained block at most once. A port
// another process holds is skipped; any other failure (EMFILE: out of file
// descriptors) would fail for every port, so it is returned and counted.
func (p *portPool) alloc(mux bool) (*portBlock, error) {
	for tries := p.size(); tries > 0; tries-- {
		port, ok := p.take()
		if !ok {
			break
		}
		b, err := p.bind(port, mux)
		if err == nil {
			return b, nil
		}
		p.giveBack(port) // retry it after a drain
		if !errors.Is(err, syscall.EADDRINUSE) {
			p.errs.Add(1)
			return nil, unavailable(err)
		}
	}
	p.empty.Add(1)
	return nil, unavailable(ErrPortsExhausted)
}

func (p *portPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}

func (p *portPool) take() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 || p.now().Sub(p.free[0].released) < p.drain {
		return 0, false
	}
	port := p.free[0].port
	p.free = p.free[1:]
	p.inUse += 2
	return port, true
}

func (p *portPool) giveBack(port int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inUse -= 2
	p.free = append(p.free, freeBlock{port: port, released: p.now()})
}

func (p *portPool) bind(port int, mux bool) (*portBlock, error) {
	rtp, err := p.bindPort(port)
	if err != nil {
		return nil, err
	}
	b := &portBlock{port: port, rtp: rtp}
	if mux {
		return b, nil
	}
	if b.rtcp, err = p.bindPort(port + 1); err != nil {
		rtp.Close()
		return nil, err
	}
	return b, nil
}

func (p *portPool) bindPort(port int) (*net.UDPConn, error) {
	c, err := p.listen(netip.AddrPortFrom(p.addr, uint16(port)))
	if err != nil {
		return nil, fmt.Errorf("media: bind rtp port %d: %w", port, err)
	}
	return c, nil
}

func listenUDP(ap netip.AddrPort) (*net.UDPConn, error) {
	return net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
}

// release closes the block's sockets and queues it for reuse after drain.
func (p *portPool) release(b *portBlock) {
	b.close()
	p.giveBack(b.port)
}

func (b *portBlock) close() {
	b.rtp.Close()
	if b.rtcp != nil {
		b.rtcp.Close()
	}
}

// stats returns ports held by sessions and ports still draining.
func (p *portPool) stats() (inUse, draining int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for i := len(p.free) - 1; i >= 0 && now.Sub(p.free[i].released) < p.drain; i-- {
		draining += 2
	}
	return p.inUse, draining
}
