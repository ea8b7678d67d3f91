package main

import (
	"fmt"
	"time"

	"github.com/tonewall/tonewall/internal/media"
)

// phases compares stages inside one run of the relay (-phase): every call
// carries one stage per entry of the list, and all calls switch stage at
// once every phase, in ABBA rounds (the list, then reversed) n times, after
// one warm-up phase. Each phase's CPU time per packet relayed compares
// directly with its neighbours', seconds apart: the VM's drift over
// minutes, which swamps separate runs of 10 s, cancels within a round.
func phases(o options, stages []string, n int) error {
	res, err := measure(o, "relay")
	if err != nil {
		return err
	}
	res.print("relay, all phases")
	if loss := res.lossPercent(); loss >= 0.1 {
		return fmt.Errorf("%.3f %% loss: the relay is overloaded, so its CPU per packet means nothing; use fewer -calls", loss)
	}
	order := phaseOrder(stages, n)
	if len(res.Phases) != len(order) {
		return fmt.Errorf("%d phases measured, want %d", len(res.Phases), len(order))
	}
	got := make(map[string][]cpuRun)
	for i, k := range order {
		got[stages[k]] = append(got[stages[k]], res.Phases[i])
	}
	fmt.Printf("\n%d rounds of %s phases in one run of the relay\n", n, o.phase)
	report(stages, got)
	return nil
}

// phaseOrder is the stages' indexes in ABBA order, n rounds of the list
// then the list reversed: the runs of rounds, the phases after the warm-up.
func phaseOrder(stages []string, n int) []int {
	var order []int
	for range n {
		for k := range stages {
			order = append(order, k)
		}
		for k := len(stages) - 1; k >= 0; k-- {
			order = append(order, k)
		}
	}
	return order
}

// relayCalls are the relay's sessions and, per entry of the -stage list,
// each call's stage for it (nil for none), for -phase.
type relayCalls struct {
	modes    []string
	sessions []*media.Session
	stages   [][]media.Stage
}

// set installs stage k on call i (none removes the stage).
func (rc *relayCalls) set(k, i int) { rc.sessions[i].SetStage(rc.stages[k][i]) }

// switchPhases runs the phases from now on: a warm-up phase on the first
// stage, then the ABBA rounds, switching every call at each phase's start,
// and returns the relay process's CPU time and user time per packet the
// relay received in each phase after the warm-up, µs: what is timed and
// counted starts once the calls are switched, and counting the packets
// rather than assuming the phones' rate keeps the figure true when a busy
// machine makes the phones fall behind.
func (rc *relayCalls) switchPhases(o options) []cpuRun {
	order := phaseOrder(rc.modes, o.rounds)
	start := time.Now()
	time.Sleep(o.phase) // warm-up, on stage 0 as installed
	var out []cpuRun
	for i, k := range order {
		for c := range rc.sessions {
			rc.set(k, c)
		}
		cpu, user := cpuTimes()
		pkts := rc.received()
		time.Sleep(time.Until(start.Add(time.Duration(i+2) * o.phase)))
		cpu2, user2 := cpuTimes()
		per := 1e6 / float64(max(rc.received()-pkts, 1))
		out = append(out, cpuRun{(cpu2 - cpu).Seconds() * per, (user2 - user).Seconds() * per})
	}
	return out
}

// received is how many packets the relay has accepted on all calls' legs.
func (rc *relayCalls) received() uint64 {
	var n uint64
	for _, s := range rc.sessions {
		n += s.Stats(media.Carrier).Received + s.Stats(media.ContactCenter).Received
	}
	return n
}
