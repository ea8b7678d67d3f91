package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tonewall/tonewall/internal/media"
	"go.uber.org/zap"
)

type result struct {
	sent, received uint64
	lat            []time.Duration
	cpu            time.Duration
}

func (r result) lossPercent() float64 {
	return 100 * (1 - float64(r.received)/float64(max(r.sent, 1)))
}

func (r result) print(name string) {
	slices.Sort(r.lat)
	pct := func(q float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(q*float64(len(r.lat))))]
	}
	loss := r.lossPercent()
	perPkt := float64(r.cpu.Microseconds()) / float64(max(r.received, 1))
	fmt.Printf("%-14s %10d %10d %8.3f %10s %10s %10s %12.2f\n", name, r.sent, r.received, loss,
		pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond), perPkt)
}

// pair is one call: the carrier and contact-center phones and whatever sits
// between them.
type pair struct{ c, cc *phone }

func measure(o options, mode string) (result, error) {
	var middle interface{ Close() error }
	pairs, middle, err := setup(o, mode)
	if middle != nil {
		defer middle.Close()
	}
	if err != nil {
		return result{}, err
	}
	var wg sync.WaitGroup
	for _, p := range pairs {
		for _, ph := range []*phone{p.c, p.cc} {
			wg.Add(1)
			go func() { defer wg.Done(); ph.receive() }()
		}
	}
	before := cpuTime()
	drive(pairs, o.duration)
	time.Sleep(200 * time.Millisecond) // let the last packets land
	cpu := cpuTime() - before
	for _, p := range pairs {
		p.c.conn.Close()
		p.cc.conn.Close()
	}
	wg.Wait()
	return collect(pairs, cpu), nil
}

func collect(pairs []pair, cpu time.Duration) result {
	r := result{cpu: cpu}
	for _, p := range pairs {
		for _, ph := range []*phone{p.c, p.cc} {
			r.sent += ph.sent.Load()
			r.received += ph.received.Load()
			r.lat = append(r.lat, ph.lat...)
		}
	}
	return r
}

// drive sends one packet each way per call every 20 ms, spread over a few
// sender goroutines, each call at its own phase.
func drive(pairs []pair, d time.Duration) {
	const shards = 4
	var wg sync.WaitGroup
	for s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload, buf, sealed := make([]byte, 160), make([]byte, 1500), make([]byte, 1500)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			time.Sleep(time.Duration(s) * 5 * time.Millisecond)
			for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
				for i := s; i < len(pairs); i += shards {
					pairs[i].c.send(payload, buf, sealed)
					pairs[i].cc.send(payload, buf, sealed)
				}
			}
		}()
	}
	wg.Wait()
}

func setup(o options, mode string) ([]pair, interface{ Close() error }, error) {
	pairs := make([]pair, o.calls)
	for i := range pairs {
		var err error
		if pairs[i].c, err = newPhone(o.srtp); err != nil {
			return nil, nil, err
		}
		if pairs[i].cc, err = newPhone(o.srtp); err != nil {
			return nil, nil, err
		}
	}
	if mode == "forward" || mode == "forward-batch" {
		f, err := newForwarder(pairs, mode == "forward-batch")
		return pairs, f, err
	}
	m, err := setupRelay(o, pairs)
	return pairs, m, err
}

func setupRelay(o options, pairs []pair) (*media.Manager, error) {
	m, err := media.NewManager(media.Config{PortMin: o.portMin, PortMax: o.portMin + 4*len(pairs) + 100, Drain: time.Millisecond}, zap.NewNop())
	if err != nil {
		return nil, err
	}
	pol := media.LegPolicy{}
	if s, ok := suites[o.srtp]; ok {
		pol = media.LegPolicy{SRTP: "required", Suites: []string{s.name}}
	}
	caps, err := newCaptures(o)
	if err != nil {
		return m, err
	}
	for i, p := range pairs {
		s, err := m.NewSession(fmt.Sprint("load-", i), pol, pol)
		if err != nil {
			return m, err
		}
		if err := caps.install(s, fmt.Sprint("load-", i)); err != nil {
			return m, err
		}
		offer, err := s.Offer(media.Carrier, p.c.sdp(o.srtp))
		if err != nil {
			return m, err
		}
		answer, err := s.Answer(media.ContactCenter, p.cc.sdp(o.srtp))
		if err != nil {
			return m, err
		}
		if err := wire(o, p.c, answer); err != nil {
			return m, err
		}
		if err := wire(o, p.cc, offer); err != nil {
			return m, err
		}
	}
	return m, nil
}

// wire points a phone at the address in tonewall's SDP toward it.
func wire(o options, p *phone, sdp []byte) error {
	var port int
	for _, line := range splitLines(string(sdp)) {
		if _, err := fmt.Sscanf(line, "m=audio %d", &port); err == nil {
			break
		}
	}
	if port == 0 {
		return errors.New("no m=audio in tonewall's SDP")
	}
	p.peer = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	return p.setPeerKey(o.srtp, string(sdp))
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// forwarder is the bare baseline: per call two sockets, one goroutine each,
// read and write to the other phone, no parsing.
type forwarder struct {
	conns            []*net.UDPConn
	wg               sync.WaitGroup
	batch            bool
	batches, batched atomic.Uint64 // ReadBatch calls and packets they returned
}

func newForwarder(pairs []pair, batch bool) (*forwarder, error) {
	f := &forwarder{batch: batch}
	for _, p := range pairs {
		a, err := f.listen()
		if err != nil {
			return f, err
		}
		b, err := f.listen()
		if err != nil {
			return f, err
		}
		relay := f.relay
		if batch {
			relay = f.relayBatch
		}
		relay(a, b, p.cc.conn.LocalAddr().(*net.UDPAddr).AddrPort())
		relay(b, a, p.c.conn.LocalAddr().(*net.UDPAddr).AddrPort())
		p.c.peer, p.cc.peer = a.LocalAddr().(*net.UDPAddr).AddrPort(), b.LocalAddr().(*net.UDPAddr).AddrPort()
		p.c.rx, p.cc.rx = p.cc.tx2rx(), p.c.tx2rx()
	}
	return f, nil
}

func (f *forwarder) listen() (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err == nil {
		f.conns = append(f.conns, c)
	}
	return c, err
}

func (f *forwarder) relay(from, to *net.UDPConn, dst netip.AddrPort) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, err := from.Read(buf)
			if err != nil {
				return
			}
			_, _ = to.WriteToUDPAddrPort(buf[:n], dst)
		}
	}()
}

func (f *forwarder) Close() error {
	for _, c := range f.conns {
		c.Close()
	}
	f.wg.Wait()
	if f.batch {
		fmt.Printf("  (batched forwarder: %.2f packets per ReadBatch)\n", float64(f.batched.Load())/float64(max(f.batches.Load(), 1)))
	}
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
