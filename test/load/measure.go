package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tonewall/tonewall/internal/media"
	"github.com/tonewall/tonewall/internal/sbctest"
	"go.uber.org/zap"
)

// result is one run's figures; the phones process fills all but RelayCPU.
type result struct {
	Sent      uint64        `json:"sent"`
	Received  uint64        `json:"received"`
	Timed     uint64        `json:"timed"` // received packets with a latency (see phone)
	P50       time.Duration `json:"p50"`
	P99       time.Duration `json:"p99"`
	Max       time.Duration `json:"max"`
	PhonesCPU time.Duration `json:"phones_cpu"`
	RelayCPU  time.Duration `json:"-"` // the parent's own: the relay or forwarder alone
	RelayUser time.Duration `json:"-"` // of which in user space (the kernel's share includes delivering to the phones over loopback)
	Phases    []cpuRun      `json:"-"` // with -phase: the relay's CPU and user time per received packet (µs) in each phase after the warm-up
}

func (r result) lossPercent() float64 {
	return 100 * (1 - float64(r.Received)/float64(max(r.Sent, 1)))
}

const header = "%-14s %10s %10s %8s %10s %10s %10s %13s %13s %13s\n"

func printHeader() {
	fmt.Printf(header, "path", "sent", "received", "loss%", "p50", "p99", "max", "relay µs/pkt", "(user)", "phones µs/pkt")
}

func (r result) print(name string) {
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(max(r.Received, 1)) }
	fmt.Printf("%-14s %10d %10d %8.3f %10s %10s %10s %12.2f  %12.2f  %12.2f\n", name, r.Sent, r.Received, r.lossPercent(),
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond),
		per(r.RelayCPU), per(r.RelayUser), per(r.PhonesCPU))
	if r.Timed < r.Received {
		fmt.Printf("  (%d received packets without a latency: a call's first packet was lost)\n", r.Received-r.Timed)
	}
}

// measure runs one path: the phones in a child process, the relay (or the
// bare forwarder) in this one, or rtpengine in a child of its own, whose
// CPU time is taken from "go" to "done".
func measure(o options, mode string) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(exe, "-role", "phones", "-calls", fmt.Sprint(o.calls), "-duration", o.duration.String(), "-srtp", o.srtp)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return result{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	r, err := talk(o, mode, json.NewDecoder(bufio.NewReader(stdout)), json.NewEncoder(stdin))
	stdin.Close()
	if werr := cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("phones process: %w", werr)
	}
	return r, err
}

func talk(o options, mode string, in *json.Decoder, out *json.Encoder) (result, error) {
	var h hello
	if err := in.Decode(&h); err != nil {
		return result{}, fmt.Errorf("phones' hello: %w", err)
	}
	if len(h.Phones) != 2*o.calls {
		return result{}, fmt.Errorf("hello for %d phones, want %d", len(h.Phones), 2*o.calls)
	}
	var middle interface{ Close() error }
	var w wiring
	var calls *relayCalls
	var err error
	clock := cpuTimes // the middle's CPU time
	switch mode {
	case "forward", "forward-batch":
		var f *forwarder
		f, w, err = newForwarder(h.Phones, mode == "forward-batch")
		middle = f
	case "rtpengine":
		var e *rtpengine
		e, w, err = setupRtpengine(o, h.Phones)
		if e != nil {
			middle, clock = e, e.cpuTimes
		}
	default:
		var m *media.Manager
		m, w, calls, err = setupRelay(o, h.Phones)
		if m != nil {
			middle = m
		}
	}
	if middle != nil {
		defer middle.Close()
	}
	if err != nil {
		return result{}, err
	}
	if err := out.Encode(w); err != nil {
		return result{}, err
	}
	if err := expect(in, nil, "", "ready"); err != nil {
		return result{}, err
	}
	before, userBefore := clock()
	if err := out.Encode(message{Msg: "go"}); err != nil {
		return result{}, err
	}
	var phased []cpuRun
	if o.phase > 0 && calls != nil {
		phased = calls.switchPhases(o)
	}
	if err := expect(in, nil, "", "done"); err != nil {
		return result{}, err
	}
	after, userAfter := clock()
	var m message
	if err := in.Decode(&m); err != nil || m.Result == nil {
		return result{}, fmt.Errorf("phones' result: %v", err)
	}
	m.Result.RelayCPU, m.Result.RelayUser = after-before, userAfter-userBefore
	m.Result.Phases = phased
	return *m.Result, nil
}

// setupRelay makes one tonewall media session per call, carrier phone on
// one leg and contact-center phone on the other, and tells each phone the
// relay's address and key toward it. With -phase each call also gets one
// stage per entry of the -stage list, the first installed.
func setupRelay(o options, phones []endpoint) (*media.Manager, wiring, *relayCalls, error) {
	calls := len(phones) / 2
	w := wiring{Peers: make([]endpoint, len(phones))}
	rc := &relayCalls{modes: strings.Split(o.stage, ",")}
	rc.stages = make([][]media.Stage, len(rc.modes))
	m, err := media.NewManager(media.Config{PortMin: o.portMin, PortMax: o.portMin + 4*calls + 100, Drain: time.Millisecond}, zap.NewNop())
	if err != nil {
		return nil, w, rc, err
	}
	pol := media.LegPolicy{}
	if s, ok := suites[o.srtp]; ok {
		pol = media.LegPolicy{SRTP: "required", Suites: []string{s.name}}
	}
	caps, err := newCaptures(o)
	if err != nil {
		return m, w, rc, err
	}
	for i := range calls {
		c, cc := phones[2*i], phones[2*i+1]
		s, err := m.NewSession(fmt.Sprint("load-", i), pol, pol)
		if err != nil {
			return m, w, rc, err
		}
		if o.phase == 0 {
			if err := caps.install(s, fmt.Sprint("load-", i), i); err != nil {
				return m, w, rc, err
			}
		} else {
			rc.sessions = append(rc.sessions, s)
			for k, mode := range rc.modes {
				st, err := caps.stage(mode, fmt.Sprintf("load-%d-%d", i, k), i)
				if err != nil {
					return m, w, rc, err
				}
				rc.stages[k] = append(rc.stages[k], st)
			}
			rc.set(0, i)
		}
		offer, err := s.Offer(media.Carrier, sdp(c.Port, c.Key, o.srtp))
		if err != nil {
			return m, w, rc, err
		}
		answer, err := s.Answer(media.ContactCenter, sdp(cc.Port, cc.Key, o.srtp))
		if err != nil {
			return m, w, rc, err
		}
		// tonewall answers the carrier and offers to the contact center.
		if w.Peers[2*i], err = peerOf(o, answer); err != nil {
			return m, w, rc, err
		}
		if w.Peers[2*i+1], err = peerOf(o, offer); err != nil {
			return m, w, rc, err
		}
	}
	return m, w, rc, nil
}

// peerOf is the port and key in the relay's SDP (tonewall's or
// rtpengine's) toward a phone.
func peerOf(o options, sdp []byte) (endpoint, error) {
	var port int
	for _, line := range splitLines(string(sdp)) {
		if _, err := fmt.Sscanf(line, "m=audio %d", &port); err == nil {
			break
		}
	}
	if port == 0 {
		return endpoint{}, errors.New("no m=audio in the relay's SDP")
	}
	key, err := sdpKey(o.srtp, string(sdp))
	return endpoint{Port: port, Key: key}, err
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

// newForwarder forwards each call's packets untouched, so each phone
// receives with the other phone's own key.
func newForwarder(phones []endpoint, batch bool) (*forwarder, wiring, error) {
	f := &forwarder{batch: batch}
	w := wiring{Peers: make([]endpoint, len(phones))}
	at := func(port int) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	}
	for i := 0; i < len(phones); i += 2 {
		c, cc := phones[i], phones[i+1]
		a, err := f.listen()
		if err != nil {
			return f, w, err
		}
		b, err := f.listen()
		if err != nil {
			return f, w, err
		}
		relay := f.relay
		if batch {
			relay = f.relayBatch
		}
		relay(a, b, at(cc.Port))
		relay(b, a, at(c.Port))
		w.Peers[i] = endpoint{Port: a.LocalAddr().(*net.UDPAddr).Port, Key: cc.Key}
		w.Peers[i+1] = endpoint{Port: b.LocalAddr().(*net.UDPAddr).Port, Key: c.Key}
	}
	return f, w, nil
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
		sbctest.ReadEach(from, func(b []byte) { _, _ = to.WriteToUDPAddrPort(b, dst) })
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
	total, _ := cpuTimes()
	return total
}

// cpuTimes is this process's CPU time so far, and the user-space part of it.
func cpuTimes() (total, user time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), time.Duration(ru.Utime.Nano())
}
