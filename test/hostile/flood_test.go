package hostile

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Trunk A's caps: the flood may start at most this many calls.
const (
	floodMaxCalls = 10
	floodPerSec   = 5
)

// TestTrunkFloodLeavesOthersTheirRoom: trunk A (127.0.0.2) floods INVITEs
// over UDP while trunk B (127.0.0.3) places calls. A's flood is refused
// 503 past its caps, and no more of it than the caps allow reaches the
// contact center; B's calls succeed (99 % at least).
func TestTrunkFloodLeavesOthersTheirRoom(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // first registered: runs after every other cleanup
	cc := newAgent(t, "127.0.0.1", "")
	tw := start(t, fmt.Sprintf(`
sip:
  listeners:
    - {name: carrier_a, transport: udp, address: "${udp:a}"}
    - {name: carrier_b, transport: udp, address: "${udp:b}"}
    - {name: cc, transport: udp, address: "${udp:cc}"}
  ack_timeout: 60s
  limits: {source_rate: -1} # the trunk's caps are under test, not the per-source limiter
trunks:
  - {name: a, role: carrier, listener: carrier_a, sources: [127.0.0.2/32], max_calls: %d, calls_per_second: %d}
  - {name: b, role: carrier, listener: carrier_b, sources: [127.0.0.3/32]}
  - {name: cc, role: contact_center, listener: cc, sources: [127.0.0.1/32], targets: ["sip:%s"]}
routes: [{from: a, to: cc, capture: off}, {from: b, to: cc, capture: off}]
`, floodMaxCalls, floodPerSec, cc.Addr), 0)
	carrierB := newAgent(t, "127.0.0.3", "5552000")
	floodFor, rate := time.Duration(size(3, 20))*time.Second, size(1000, 4000)

	flood := startFlood(t, udpAddr(t, tw.addr("udp:a")).String(), rate)
	cpu0 := tw.cpu(t)
	var ok, failed, unsent atomic.Int32
	var firstErr atomic.Value
	var wg sync.WaitGroup
	end := time.Now().Add(floodFor)
	for range 4 { // trunk B calls for as long as the flood lasts
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				err := call(carrierB, tw.addr("udp:b"))
				if err != nil && strings.Contains(err.Error(), "address already in use") {
					// sipgo's client raced itself for its own socket: the
					// INVITE never left this process, so tonewall had no part.
					unsent.Add(1)
					continue
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	fr := flood.stop()
	cpu := tw.cpu(t) - cpu0
	calls := int(ok.Load() + failed.Load())
	if calls < 50 {
		t.Fatalf("trunk B placed only %d calls in %s", calls, floodFor)
	}
	share := float64(ok.Load()) / float64(calls)
	reached := invites(cc, "5551000")
	limit := min(floodMaxCalls, floodPerSec+int(fr.dur.Seconds()*floodPerSec)+1)
	t.Logf("flood of trunk A: %d INVITEs in %s (%.0f/s), %d answered 503 (%d 503s received), %d reached the contact center (cap %d); "+
		"bytes back/in %.2f over the flood and %s after; trunk B: %d/%d calls (%.1f %%, first error %v; %d never sent, sipgo's own socket race); tonewall CPU %s",
		fr.sent, fr.dur.Round(time.Millisecond), float64(fr.sent)/fr.dur.Seconds(), fr.unavailable, fr.answers503, reached, limit,
		float64(fr.bytesBack)/float64(fr.bytesSent), retransmitWindow, ok.Load(), calls, 100*share, firstErr.Load(), unsent.Load(), cpu)
	if share < 0.99 {
		t.Errorf("trunk B: %d of %d calls succeeded (%.1f %%), want 99 %%; first error: %v", ok.Load(), calls, 100*share, firstErr.Load())
	}
	if reached > limit {
		t.Errorf("%d flood INVITEs reached the contact center, more than trunk A's caps allow (%d)", reached, limit)
	}
	// A trunk's UDP address can be spoofed: a refusal is answered once,
	// never retransmitted, and never with more than the INVITE brought.
	if fr.answers503 > fr.unavailable {
		t.Errorf("%d 503s received for %d refused INVITEs: refusals are retransmitted", fr.answers503, fr.unavailable)
	}
	if fr.bytesBack > fr.bytesSent {
		t.Errorf("the flood drew %d bytes back for %d sent: tonewall reflects", fr.bytesBack, fr.bytesSent)
	}
	if fr.unavailable < fr.sent/2 {
		t.Errorf("only %d of %d flood INVITEs answered 503", fr.unavailable, fr.sent)
	}
	if n := tw.metric(t, `tonewall_sip_admission_refused_total{trunk="a"`); n < float64(fr.unavailable) {
		t.Errorf("tonewall_sip_admission_refused_total{trunk=a} = %.0f, fewer than the %d 503s", n, fr.unavailable)
	}
	if n := tw.metric(t, `tonewall_sip_admission_refused_total{trunk="b"`); n != 0 {
		t.Errorf("trunk B had %.0f calls refused by a cap", n)
	}
	tw.alive(t)
}

// flood sends INVITEs from trunk A's address at a steady rate and counts
// what comes back.
type flood struct {
	stopc chan struct{}
	done  chan floodResult
}

type floodResult struct {
	sent, unavailable    int // INVITEs sent, and answered 503
	answers503           int // 503s received, retransmissions included
	bytesSent, bytesBack int
	dur                  time.Duration
}

func startFlood(t *testing.T, to string, perSec int) *flood {
	c := udpFrom(t, "127.0.0.2")
	ra := udpAddr(t, to)
	f := &flood{stopc: make(chan struct{}), done: make(chan floodResult, 1)}
	var back, answers503 int
	refused := map[string]bool{} // Call-IDs answered 503
	readDone := make(chan struct{})
	go func() { // owns back, answers503 and refused until readDone
		defer close(readDone)
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			back += n
			if msg := string(buf[:n]); strings.HasPrefix(msg, "SIP/2.0 503") {
				answers503++
				_, id, _ := strings.Cut(msg, "\r\nCall-ID: ")
				id, _, _ = strings.Cut(id, "\r\n")
				refused[id] = true
			}
		}
	}()
	go func() {
		var r floodResult
		t0 := time.Now()
		via := c.LocalAddr().String()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for stopped := false; !stopped; {
			for r.sent < int(time.Since(t0).Seconds()*float64(perSec)) {
				msg := request("INVITE", "UDP", via, "", offer)
				if _, err := c.WriteToUDP(msg, ra); err == nil {
					r.sent++
					r.bytesSent += len(msg)
				}
			}
			select {
			case <-f.stopc:
				stopped = true
			case <-tick.C:
			}
		}
		r.dur = time.Since(t0)
		time.Sleep(retransmitWindow) // the last answers, and retransmissions of the 503s
		_ = c.SetReadDeadline(time.Now())
		<-readDone
		r.bytesBack, r.unavailable, r.answers503 = back, len(refused), answers503
		f.done <- r
	}()
	return f
}

func (f *flood) stop() floodResult {
	close(f.stopc)
	return <-f.done
}
