package soak

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/tonewall/tonewall/internal/sbctest/sbc"
	"github.com/tonewall/tonewall/internal/sbctest/sipua"
)

// TestSoak places calls at a steady rate through one tonewall, with RTP
// both ways on every answered call: a tenth cancelled while ringing, one
// in twenty whose caller vanishes before its ACK, and of the answered
// ones 40% with a capture window opened through the control API, the card
// keyed as RFC 4733 events or as in-band tones; the window ends tokenized,
// cancelled by the agent, or cut by a BYE from either side mid-card. A
// warm-up at the same rate comes first; then the heap and goroutine
// baselines, the run, and the checks: no call, dialog, port or open
// capture left (accessors, GET /v1/calls, /metrics), tonewall's count of
// captures by end state as the soak expects, goroutines back to the
// baseline, the heap within a bound far below a per-call leak (see
// heapObjectSlack), and after tonewall stops, goleak.
//
// Size: by default a modest soak, 6 calls/s for 25 s (150 calls after a
// 5 s warm-up) with SIP's T1 shortened to 100 ms so that finished
// transactions (64×T1) are gone within the test's minute; under a minute
// with -race on two cores. SOAK_FULL=1 (make soak) runs 20 calls/s for 5
// minutes after a 40 s warm-up, on production's timers (T1 500 ms, T4 5 s).
// SOAK_RATE (calls/s), SOAK_DURATION (of the run) and SOAK_SEED (of the
// call mix) override either size. SOAK_HEAP_PROFILE=dir writes the heap
// profiles at the baseline and the end, start.pprof and end.pprof, to
// explain a growth: go tool pprof -base start.pprof end.pprof.
func TestSoak(t *testing.T) {
	sz := sizeFromEnv()
	if testing.Short() && sz.full {
		t.Skip("the full soak: skipped in -short")
	}
	t.Log(sz)
	before := goleak.IgnoreCurrent()
	k := start(t, sz)
	rng := rand.New(rand.NewPCG(uint64(sz.seed), 0))
	k.phase("warm-up", sz.warm, rng)
	k.nothingLeft() // also warms what the checks use: /metrics, GET /v1/calls
	base := k.quiesce("start")
	calls := k.phase("run", sz.run, rng)
	k.nothingLeft()
	end := k.quiesce("end")
	k.compare(base, end, calls)
	k.report()
	if err := k.s.Stop(); err != nil {
		t.Errorf("tonewall stopped with error: %v", err)
	}
	k.carrier.Close()
	k.cc.Close()
	k.api.http.CloseIdleConnections()
	noLeakedGoroutines(t, before)
}

// soak is the soak's tonewall, its two peers and what they counted.
type soak struct {
	t           *testing.T
	sz          size
	s           *sbc.SBC
	log         *logTally
	carrier, cc *sipua.Agent
	api         *apiClient
	ackTimeout  time.Duration
	live        sync.Map     // call number → *call, while it is placed
	next        atomic.Int64 // the last call number
	strays      atomic.Int64 // INVITEs at the contact center that named no call of the soak
	want        *tally       // captures tonewall must have counted, by end state
	phases      []phaseResult
}

// start runs the carrier, the contact center and tonewall between them.
func start(t *testing.T, sz size) *soak {
	k := &soak{t: t, sz: sz, ackTimeout: 2 * time.Second, want: newTally(), log: newLogTally()}
	k.carrier = sipua.NewWith(t, sipua.Options{Quiet: true})
	k.cc = sipua.NewWith(t, sipua.Options{Quiet: true})
	k.cc.SetPlan(k.answer)
	dir := t.TempDir()
	o := sbc.Options{DataDir: dir, API: apiKeys(),
		SIP:           sbc.SIP{AckTimeout: k.ackTimeout, HeaderPass: []string{"X-Genesys-*"}},
		ContactCenter: sbc.Trunk{Targets: []string{k.cc.Addr}},
		Media:         sbc.Media{Address: "127.0.0.1", PortMin: 30000, PortMax: 39999, Drain: 500 * time.Millisecond},
		// Security codes leave memory after cvv_ttl: a second, so that
		// the heap at the end holds none of the run's.
		Vault: sbc.M{"local": sbc.M{"dir": dir, "cvv_ttl": "1s"}},
	}
	s, err := sbc.Run(context.Background(), o, zap.New(k.log))
	if err != nil {
		t.Fatal(err)
	}
	k.s = s
	t.Cleanup(func() { _ = s.Stop() })
	k.api = newAPIClient(s.App.API.Addr())
	return k
}

// phaseResult is what one phase counted.
type phaseResult struct {
	name        string
	calls, caps *tally
	peakCalls   int
	peakHeap    uint64 // HeapInuse, sampled once a second, without forcing a GC
	took        time.Duration
}

// phase starts calls at the soak's rate for d and waits for them to end.
// A late tick (the machine is shared) delays calls, never drops one: each
// tick starts every call due by then.
func (k *soak) phase(name string, d time.Duration, rng *rand.Rand) *phaseResult {
	r := &phaseResult{name: name, calls: newTally(), caps: newTally()}
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / k.sz.rate))
	defer tick.Stop()
	begin, sampled, started := time.Now(), time.Now(), 0
	for elapsed := time.Duration(0); elapsed < d; elapsed = time.Since(begin) {
		for due := int(elapsed.Seconds()*k.sz.rate) + 1; started < due; started++ {
			p := draw(rng, k.sz.hold)
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				k.place(ctx, p, r.calls, r.caps)
			}()
		}
		<-tick.C
		r.peakCalls = max(r.peakCalls, k.s.App.ActiveCalls())
		if time.Since(sampled) >= time.Second {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			r.peakHeap, sampled = max(r.peakHeap, m.HeapInuse), time.Now()
		}
	}
	wg.Wait()
	r.took = time.Since(begin)
	k.phases = append(k.phases, *r)
	k.t.Logf("%s: %d calls started over %s, all ended after %s; at most %d at once, heap in use at most %s",
		name, started, d, r.took.Round(time.Millisecond), r.peakCalls, mib(r.peakHeap))
	return r
}
