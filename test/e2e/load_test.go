package e2e

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
)

// TestConcurrentCalls sets up and tears down 500 calls at once, then checks
// that tonewall holds no call, dialog, port or goroutine afterwards.
//
// It checks what is left, not how fast: under -race, with the rest of the
// suite on two cores, setting the 500 calls up takes from one second to
// tens. So every wait here is bounded by the calls' own minute, and the
// contact center's agent, which shares the CPU, is given half of it to
// answer tonewall's INVITEs instead of the suite's 1.5 s: starved, it is
// slow, not dead.
func TestConcurrentCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("500 calls: skipped in -short")
	}
	const within = time.Minute
	before := goleak.IgnoreCurrent()
	func() {
		p := newPeers(t, "udp", sbc.Options{SIP: sbc.SIP{InviteTimeout: within / 2}})
		carrier, cc, s := p.carrier, p.cc, p.s
		const n = 500
		var wg sync.WaitGroup
		var failed atomic.Int32
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		up := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sess, err := carrier.Call(ctx, s.Addr("carrier"), carrier.SDP())
				if err != nil {
					failed.Add(1)
					t.Errorf("call: %v", err)
					return
				}
				defer sess.Close()
				<-up
				if err := sess.Bye(ctx); err != nil {
					failed.Add(1)
					t.Errorf("bye: %v", err)
				}
			}()
		}
		waitWithin(t, within, "500 calls up", func() bool { return s.App.ActiveCalls()+int(failed.Load()) == n })
		if got := s.App.PortsInUse(); got == 0 {
			t.Errorf("500 calls hold no RTP port")
		}
		close(up)
		wg.Wait()
		waitWithin(t, within, "no call held", func() bool { return s.App.ActiveCalls() == 0 })
		waitWithin(t, within, "RTP ports released", func() bool { return s.App.PortsInUse() == 0 })
		if n := s.App.SIP.Dialogs(); n != 0 {
			t.Errorf("%d dialogs left", n)
		}
		waitWithin(t, within, "a BYE at the contact center for every call", func() bool { return len(cc.Received("BYE")) >= n })
		if u := cc.UnmatchedByes.Load(); u != 0 {
			t.Errorf("%d BYEs reached the contact center for dialogs it did not know", u)
		}
		if err := s.Stop(); err != nil {
			t.Errorf("tonewall stopped with error: %v", err)
		}
		carrier.Close()
		cc.Close()
	}()
	// sipgo keeps finished transactions for their RFC timers (up to 64*T1);
	// shutting the user agents down terminates them.
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err = goleak.Find(before); err == nil {
			return
		}
	}
	t.Fatal(err)
}
